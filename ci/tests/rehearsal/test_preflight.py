"""The rehearsal's preflight renumbers podman's locks only when no container exists."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

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
    said: list[str] = []
    preflight.renumber_locks_when_idle(said.append)
    assert (["podman", "system", "renumber"] in run.calls) is renumbered
    assert said == []


def test_a_failed_renumber_is_said_and_the_rehearsal_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(subprocess, "run", FakeRun("", renumber_code=125))
    said: list[str] = []
    preflight.renumber_locks_when_idle(said.append)
    assert said == ["rehearsal: podman system renumber failed: locks are busy"]
