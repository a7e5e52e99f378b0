"""The module's third-party dependencies are pinned for the engine, to uv.lock's versions.

The Python SDK runtime of Dagger 0.21 (dagger/dagger backport-0.21,
sdk/python/runtime/main.go, WithInstall; discovery.go, UseUvLock) installs a module without
a uv.lock of its own with `uv pip install -e ./sdk -e . [--no-deps -r requirements.lock]`:
without the lock file every cache miss re-resolves `anyio>=4.6`, `boto3>=1.35` and the
SDK's own ranges against the index of the day. ci/ must not hold a uv.lock (the root lock
pins dagger-io 0.21.11, the runtime vendors its SDK as 0.0.0), so ci/requirements.lock it
is: `--no-deps` means it lists the whole closure, the vendored SDK's dependencies included,
and never dagger-io itself.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from .conftest import repository_file

CI = Path(__file__).resolve().parents[1]
REGENERATE = (
    "uv export --frozen --package acme-ci --no-dev --no-emit-workspace "
    "--no-emit-package dagger-io --no-hashes --no-annotate -o ci/requirements.lock"
)


def pinned() -> dict[str, str]:
    """name -> version of every requirement line of ci/requirements.lock."""
    pins: dict[str, str] = {}
    for line in (CI / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        found = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)(\s*;.*)?", line)
        assert found, f"not an exact pin: {line!r}"
        pins[found[1].lower().replace("_", "-")] = found[2]
    return pins


def closure(lock: dict[str, Any], root: str) -> set[str]:
    """The third-party packages `root` needs at run time, per uv.lock (extras followed)."""
    packages = {p["name"]: p for p in lock["package"]}
    workspace = {p["name"] for p in lock["package"] if p["source"].get("editable") is not None}
    workspace |= {p["name"] for p in lock["package"] if p["source"].get("virtual") is not None}
    visited: set[tuple[str, tuple[str, ...]]] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(root, ())]
    while todo:
        key = todo.pop()
        if key in visited:
            continue
        visited.add(key)
        name, extras = key
        package = packages[name]
        deps = list(package.get("dependencies", []))
        for extra in extras:
            deps += package.get("optional-dependencies", {}).get(extra, [])
        todo += [(dep["name"], tuple(dep.get("extra", ()))) for dep in deps]
    return {name for name, _ in visited} - workspace - {root}


def test_the_module_lock_pins_uv_locks_versions_of_the_whole_closure() -> None:
    assert (CI / "requirements.lock").exists(), f"missing; regenerate: {REGENERATE}"
    lock = tomllib.loads(repository_file("uv.lock").read_text(encoding="utf-8"))
    versions = {p["name"]: p["version"] for p in lock["package"]}
    pins = pinned()
    wanted = closure(lock, "acme-ci") - {"dagger-io"}
    assert set(pins) == wanted, f"regenerate: {REGENERATE}"
    stale = {n: (v, versions[n]) for n, v in pins.items() if versions[n] != v}
    assert stale == {}, f"(pinned, uv.lock) differ; regenerate: {REGENERATE}"


def test_the_vendored_sdk_is_left_to_the_engine_with_its_dependencies_pinned() -> None:
    lock = tomllib.loads(repository_file("uv.lock").read_text(encoding="utf-8"))
    pins = pinned()
    # A dagger-io pin would fight the runtime's `-e ./sdk` (version 0.0.0).
    assert "dagger-io" not in pins
    (sdk,) = [p for p in lock["package"] if p["name"] == "dagger-io"]
    for dep in sdk["dependencies"]:
        assert dep["name"] in pins, dep["name"]
    assert not (CI / "uv.lock").exists()  # it would switch the runtime to `uv sync`
