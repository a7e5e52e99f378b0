"""A bounded crash campaign: the real service killed with SIGKILL mid-swap, restarted, checked.

`bench/crash_campaign.py` runs the same campaign for 20+ cycles on 100,000+ stocks.
"""

from pathlib import Path

from campaign_engine import run_campaign


def test_no_acknowledged_swap_is_lost_across_kills_and_restarts(tmp_path: Path) -> None:
    campaign = run_campaign(
        tmp_path / "stocks.json", stocks=20_000, cycles=3, clients=4, kill_after=(0.3, 0.8)
    )
    totals = campaign.totals()
    assert totals["cycles"] == 3
    assert totals["acknowledged_swaps"] > 0  # the clients did swap before each kill
    assert totals["lost_swaps"] == 0
    assert totals["half_applied_swaps"] == 0
    assert [c.refused for c in campaign.cycles] == [[], [], []]  # every swap named the owner
    assert totals["other_records_changed"] == 0
    assert totals["invalid_snapshots"] == 0
