"""uv's version, remembered by the binary's identity: never the answer of another binary."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from acme_ci.native.uv_version import MEMO_FILE, uv_version_started


def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory as the whole PATH; the test puts its `uv` there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return bin_dir


def native_uv(bin_dir: Path, program: str) -> str:
    """A native executable as `uv` (coreutils answer --version with their own name)."""
    source = shutil.which(program, path="/usr/bin:/bin")
    assert source is not None
    target = bin_dir / "uv"
    target.unlink(missing_ok=True)
    shutil.copy(source, target)
    return subprocess.run([str(target), "--version"], capture_output=True, text=True).stdout.strip()


def never_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("uv was asked instead of remembered")

    monkeypatch.setattr(subprocess, "Popen", refuse)


def test_a_native_uv_is_asked_once_then_remembered_until_the_binary_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = on_path(tmp_path, monkeypatch)
    echo_version = native_uv(bin_dir, "echo")
    state = tmp_path / ".acme"
    assert uv_version_started(state)() == echo_version
    assert not state.exists()  # no state directory yet: nothing is kept, none is made
    state.mkdir()
    assert uv_version_started(state)() == echo_version
    assert (state / MEMO_FILE).is_file()

    with monkeypatch.context() as patched:
        never_asked(patched)
        assert uv_version_started(state)() == echo_version

    ls_version = native_uv(bin_dir, "ls")  # an upgrade: another binary at the same path
    assert ls_version != echo_version
    assert uv_version_started(state)() == ls_version


def test_a_script_on_path_is_asked_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = on_path(tmp_path, monkeypatch)
    state = tmp_path / ".acme"
    state.mkdir()
    shim = bin_dir / "uv"
    for version in ("1.0", "2.0"):  # a shim answers per directory; same size either way
        shim.write_text(f"#!/bin/sh\necho uv {version}\n")
        shim.chmod(0o755)
        assert uv_version_started(state)() == f"uv {version}"
    assert not (state / MEMO_FILE).exists()


def test_a_memo_for_another_binary_or_an_unreadable_one_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = on_path(tmp_path, monkeypatch)
    echo_version = native_uv(bin_dir, "echo")
    state = tmp_path / ".acme"
    state.mkdir()
    memo = state / MEMO_FILE
    for damage in ('{"binary": ', '{"binary": {"path": "/elsewhere/uv"}, "version": "uv 9"}'):
        memo.write_text(damage)
        assert uv_version_started(state)() == echo_version


def test_no_uv_on_path_is_named_in_the_fingerprint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path(tmp_path, monkeypatch)
    assert uv_version_started(tmp_path)() == "no uv"
