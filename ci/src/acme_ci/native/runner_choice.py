"""Which runner runs the pipeline: the Dagger runner when its CLI and a Dagger engine answer,
else the native runner."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROBE_TIMEOUT = 10.0


class RunnerUnavailableError(Exception):
    """`--runner dagger` was asked for and no Dagger engine can be reached."""


@dataclass(frozen=True)
class RunnerChoice:
    """The runner a run uses, and why (shown on the run's first line)."""

    name: str  # "native" | "dagger"
    why: str


def dagger_status(env: Mapping[str, str]) -> tuple[bool, str]:
    """Whether a Dagger engine answers, and why (not) - cheap checks before the slow probe."""
    cli = shutil.which("dagger")
    if cli is None:
        return False, "no `dagger` CLI on PATH"
    runner = env.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST")
    if runner is None and shutil.which("docker") is None and shutil.which("podman") is None:
        return False, "no container runtime (docker/podman) and no _EXPERIMENTAL_DAGGER_RUNNER_HOST"
    try:
        probe = subprocess.run(
            [cli, "core", "version"],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"the Dagger engine did not answer within {PROBE_TIMEOUT:.0f}s"
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return False, f"`dagger core version` failed: {last}"
    return True, f"Dagger engine reachable ({probe.stdout.strip() or 'version unknown'})"


def choose_runner(
    requested: str, env: Mapping[str, str] | None = None, unsupported: str | None = None
) -> RunnerChoice:
    """Resolve `auto|native|dagger`; RunnerUnavailableError when dagger is required and
    no Dagger engine can be reached.

    `unsupported` says why the Dagger module cannot serve this request (auto then runs native).
    """
    if requested == "native":
        return RunnerChoice("native", "--runner native")
    if unsupported is not None:
        ok, why = False, unsupported
    else:
        ok, why = dagger_status(os.environ if env is None else env)
    if ok:
        return RunnerChoice("dagger", why)
    if requested == "dagger":
        raise RunnerUnavailableError(
            f"--runner dagger: {why}; install the dagger CLI and start a Dagger engine, "
            f"or use --runner native"
        )
    return RunnerChoice("native", f"auto: {why}")


def run_on_dagger(root: Path, function: str, flags: list[str]) -> int:
    """`dagger call FUNCTION FLAGS` in `root` (the module's source defaults to the root)."""
    command = ["dagger", "call", function, *flags]
    print(f"$ {' '.join(command)}", flush=True)
    done = subprocess.run(command, cwd=root, check=False)
    return 0 if done.returncode == 0 else 1
