"""The rehearsal's preflight renumbers podman's locks only when no container exists."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from acme_ci.rehearsal import preflight


class FakeRun:
    """subprocess.run for podman: `ps` lists `containers`; every call is recorded."""

    def __init__(self, containers: str, renumber_code: int = 0) -> None:
        self.containers = containers
        self.renumber_code = renumber_code
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str], **_: object) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        if argv[1] == "ps":
            return subprocess.CompletedProcess(argv, 0, self.containers, "")
        return subprocess.CompletedProcess(argv, self.renumber_code, "", "locks are busy")


@pytest.mark.parametrize(("containers", "renumbered"), [("", True), ("4f2a\n", False)])
def test_locks_are_renumbered_only_when_no_container_exists(
    monkeypatch: pytest.MonkeyPatch, containers: str, renumbered: bool
) -> None:
    run = FakeRun(containers)
    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(preflight, "other_podman_running", lambda: False)
    said: list[str] = []
    preflight.renumber_locks_when_idle(said.append)
    assert (["podman", "system", "renumber"] in run.calls) is renumbered
    assert said == []


def test_a_failed_renumber_is_said_and_the_rehearsal_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(subprocess, "run", FakeRun("", renumber_code=125))
    monkeypatch.setattr(preflight, "other_podman_running", lambda: False)
    said: list[str] = []
    preflight.renumber_locks_when_idle(said.append)
    assert said == ["rehearsal: podman system renumber failed: locks are busy"]


def test_locks_are_left_alone_while_another_podman_runs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run = FakeRun("")
    monkeypatch.setattr(subprocess, "run", run)
    for pid, name in (("1", "init"), ("42", "conmon"), ("self", "python")):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "comm").write_text(f"{name}\n")
    assert preflight.other_podman_running(tmp_path)
    (tmp_path / "42" / "comm").write_text("bash\n")
    assert not preflight.other_podman_running(tmp_path)
    monkeypatch.setattr(preflight, "other_podman_running", lambda: True)
    preflight.renumber_locks_when_idle(lambda _: None)
    assert run.calls == []
