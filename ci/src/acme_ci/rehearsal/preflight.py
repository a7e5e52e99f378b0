"""Can this machine rehearse? Root, podman with runc, mmdebstrap, docker-registry, iptables
(netavark's NAT). When root and apt-get is there, the missing Debian packages are installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# command -> the Debian package that provides it
TOOLS = {
    "podman": "podman",
    "runc": "runc",
    "mmdebstrap": "mmdebstrap",
    "docker-registry": "docker-registry",
    "iptables": "iptables",
}
# netavark and aardvark-dns give per-step networks whose services answer to their aliases.
EXTRA_PACKAGES = ("netavark", "aardvark-dns", "uidmap")
NETAVARK = "/usr/lib/podman/netavark"


@dataclass(frozen=True)
class Readiness:
    ok: bool
    reason: str = ""


def missing_tools() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not os.path.exists(NETAVARK):
        missing.append("netavark")
    return missing


def check(install: bool, say: Callable[[str], None]) -> Readiness:
    """Ready, or why not; installs the missing packages with apt-get when root and allowed."""
    if os.geteuid() != 0:
        return Readiness(
            False, "not root: the rehearsal runs rootful podman (mounts image file systems)"
        )
    missing = missing_tools()
    if missing and install and shutil.which("apt-get"):
        packages = sorted({TOOLS.get(t, t) for t in missing} | set(EXTRA_PACKAGES))
        names = " ".join(packages)
        say(f"rehearsal: installing {names} with apt-get (missing: {', '.join(missing)})")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                return Readiness(
                    False, f"{' '.join(argv[:2])} failed: {done.stderr.strip()[-300:]}"
                )
        missing = missing_tools()
    if missing:
        how = (
            "install them with apt-get" if shutil.which("apt-get") else "no apt-get to install them"
        )
        return Readiness(False, f"missing {', '.join(missing)} ({how})")
    done = subprocess.run(
        ["podman", "--runtime", "runc", "info", "--format", "{{.Host.NetworkBackend}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return Readiness(False, f"podman does not work here: {done.stderr.strip()[-300:]}")
    if done.stdout.strip() != "netavark":
        return Readiness(
            False, f"podman's network backend is {done.stdout.strip()!r}, not netavark"
        )
    renumber_locks_when_idle(say)
    return Readiness(True)


def renumber_locks_when_idle(say: Callable[[str], None]) -> None:
    """`podman system renumber` when no container exists. podman hands out locks from shared
    memory and records each container's and volume's lock in its database; when the two
    disagree (seen here: a new exec container drew a cache volume's lock, and its start
    failed "would cause a deadlock; please run 'podman system renumber'"), renumbering
    gives every object a lock of its own again. It must not run beside another podman: with
    no container and no other podman or conmon process it is quick and safe."""
    if other_podman_running():
        return
    listed = subprocess.run(
        ["podman", "ps", "--all", "--quiet"], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0 or listed.stdout.strip():
        return
    done = subprocess.run(
        ["podman", "system", "renumber"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        say(f"rehearsal: podman system renumber failed: {done.stderr.strip()[-300:]}")


def other_podman_running(proc: Path = Path("/proc")) -> bool:
    """Whether any podman or conmon process is running (at preflight this rehearsal runs none)."""
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name = (entry / "comm").read_text().strip()
        except OSError:
            continue  # ended meanwhile
        if name in ("podman", "conmon"):
            return True
    return False
