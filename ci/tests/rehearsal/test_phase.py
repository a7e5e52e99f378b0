"""The rehearsal as a phase of `acme-ci test`: when it starts, and when it says why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from acme_ci.native.commands.test import rehearsal_phase, rehearsal_skip_reason

ROOT = Path(__file__).resolve().parents[3]


def test_a_suite_never_starts_the_rehearsal() -> None:
    # pytest sets PYTEST_CURRENT_TEST for every test, and subprocesses inherit it: acme-ci's
    # own suite (run by `./pipeline.sh test` and inside the rehearsal) cannot recurse into it.
    line, code = rehearsal_phase(ROOT)
    assert code == 0
    assert "skipped: inside a pytest run" in line


def test_a_workspace_without_the_dagger_module_has_nothing_to_rehearse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    monkeypatch.delenv("ACME_REHEARSAL", raising=False)  # a caller's own ACME_REHEARSAL=skip
    assert rehearsal_skip_reason(tmp_path) == "no Dagger module (dagger.json) in this workspace"
    monkeypatch.setenv("ACME_REHEARSAL", "skip")
    assert rehearsal_skip_reason(ROOT) == "ACME_REHEARSAL=skip"
