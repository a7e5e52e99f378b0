"""The podman command line, as the rehearsal uses it: runc, bounded ulimits, root storage."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import anyio

# crun, podman's default, cannot start containers on this kind of host; runc can.
RUNTIME = "runc"
# The host's open-file limit is not raised inside containers by default.
LIMITS = ("--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096")


class PodmanError(Exception):
    """A podman command failed; the message has the command and its error output."""


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str


class Podman(Protocol):
    """How `podman ARGS` is run: `podman` below, or a test's stand-in for the command line."""

    async def __call__(self, *args: str, stdin: bytes | None = None, check: bool = True) -> Done:
        """Run `podman ARGS`; PodmanError when it fails and `check`."""
        ...


async def podman(
    *args: str, stdin: bytes | None = None, check: bool = True, env: dict[str, str] | None = None
) -> Done:
    """Run `podman ARGS`; PodmanError when it fails and `check`."""
    argv = ["podman", "--runtime", RUNTIME, *args]
    done = await anyio.run_process(
        argv, input=stdin, check=False, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE
    )
    out = Done(
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )
    if check and out.code != 0:
        raise PodmanError(
            f"podman {' '.join(args[:3])}... failed ({out.code}): {out.stderr.strip()}"
        )
    return out


async def image_config(run: Podman, ref: str) -> dict[str, Any]:
    """The OCI config of an image (Env, Entrypoint, Cmd, WorkingDir, ExposedPorts, Labels)."""
    done = await run("image", "inspect", ref)
    config: dict[str, Any] = json.loads(done.stdout)[0].get("Config") or {}
    return config


def entrypoint_flag(argv: Sequence[str]) -> str:
    """`--entrypoint` as a JSON array: the whole argv, no shell, image CMD not appended."""
    return "--entrypoint=" + json.dumps(list(argv))


def env_pairs(items: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """An OCI config's `Env` (NAME=value strings) as pairs."""
    return tuple((k, v) for k, _, v in (item.partition("=") for item in items) if k)
