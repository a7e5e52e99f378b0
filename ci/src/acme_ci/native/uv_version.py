"""uv's version for the cache keys' environment fingerprint, remembered by the binary's identity.

`uv --version` costs about 8 ms (a 38 MB binary loaded and linked), a twentieth of a warm
run. Its answer is a property of the binary, so it is remembered under .acme/, keyed by the
resolved file's path, size, device, inode and change time: replacing or rewriting the
binary (an upgrade, a retargeted symlink) changes them, and a change time cannot be set
back. A script on PATH (a shim that picks a uv per directory, as mise and asdf install) is
asked every time: only a native executable is remembered.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from acme_ci.native.atomic import replace_text

MEMO_FILE = "uv-version.json"  # under the state directory, .acme/
# ELF, Mach-O (both byte orders, 32/64-bit and universal), PE: a binary, not a script.
_NATIVE_MAGIC = (
    b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce",
    b"\xca\xfe\xba\xbe", b"MZ",
)  # fmt: skip


def uv_version_started(state: Path) -> Callable[[], str]:
    """uv's version: from the memo in `state` when the binary on PATH is the one it names,
    else `uv --version`, started now; the call returned waits for its answer."""
    binary = shutil.which("uv")
    if binary is None:
        return lambda: "no uv"
    identity = _identity(binary)
    memo = state / MEMO_FILE
    remembered = _remembered(memo, identity)
    if remembered is not None:
        return lambda: remembered
    try:
        process = subprocess.Popen(
            [binary, "--version"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
    except OSError:
        return lambda: "no uv"

    def wait() -> str:
        out, _ = process.communicate()
        version = out.strip()
        if process.returncode == 0 and version and identity is not None:
            _remember(memo, identity, version)
        return version or "unknown uv"

    return wait


def _identity(binary: str) -> dict[str, str | int] | None:
    """What names this binary's content; None for a script (or an unreadable file)."""
    try:
        with open(binary, "rb") as file:
            info = os.fstat(file.fileno())
            magic = file.read(4)
    except OSError:
        return None
    if not magic.startswith(_NATIVE_MAGIC):
        return None
    return {
        "path": binary,
        "size": info.st_size,
        "device": info.st_dev,
        "inode": info.st_ino,
        "changed_ns": info.st_ctime_ns,
    }


def _remembered(memo: Path, identity: dict[str, str | int] | None) -> str | None:
    if identity is None:
        return None
    try:
        data = json.loads(memo.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("binary") != identity:
        return None
    version = data.get("version")
    return version if isinstance(version, str) and version else None


def _remember(memo: Path, identity: dict[str, str | int], version: str) -> None:
    """Kept only where the state directory already exists (`acme-ci plan` creates none)."""
    if not memo.parent.is_dir():
        return
    with contextlib.suppress(OSError):
        replace_text(memo, json.dumps({"binary": identity, "version": version}))
