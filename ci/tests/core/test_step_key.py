"""A container step's cache key, without an engine.

The key must change when, and only when, what the step runs or reads changes, never with
where the checkout lives or why the step was selected. Fast companions of the key tests in
tests/dagger/test_remote_cache.py (which imports dagger), run by mutation testing
(bench/mutation.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Any

import pytest

from acme_ci.core import entry_format
from acme_ci.core.plan import Step
from acme_ci.core.step_key import HostPathError, container_step_key

STEP = Step(
    id="acme-logger:test",
    package="acme-logger",
    task="test",
    commands=(("uv", "run", "pytest", "-q"),),
    workdir="libs/logger",
    env=(("PYTHONDONTWRITEBYTECODE", "1"),),
    inputs=("uv.lock", "libs/logger"),
    needs=("acme-logger:lint",),
    outputs=(".acme/junit/acme-logger.xml",),
    reason="changed: libs/logger/src/x.py",
)
DIGESTS = {"uv.lock": "sha256:aa", "pyproject.toml": "sha256:bb", "libs/logger": "sha256:cc"}
ENVIRONMENT = {"engine": "dagger", "python": "python:3.12-slim", "uv": "uv:0.5"}


def key(
    step: Step = STEP,
    digests: dict[str, str] | None = None,
    environment: dict[str, str] | None = None,
) -> str:
    return container_step_key(
        step,
        DIGESTS if digests is None else digests,
        ENVIRONMENT if environment is None else environment,
    )


# ---------------------------------------------------------------- the key


def test_a_key_is_a_sha256_hex_digest_the_same_on_every_call() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", key())
    assert key() == key(dataclasses.replace(STEP), dict(DIGESTS), dict(ENVIRONMENT))


def test_a_key_does_not_depend_on_the_order_inputs_or_environment_are_listed() -> None:
    assert key(digests=dict(reversed(DIGESTS.items()))) == key()
    assert key(environment=dict(reversed(ENVIRONMENT.items()))) == key()


@pytest.mark.parametrize(
    "change",
    [
        {"id": "acme-logger:test-2"},
        {"task": "lint"},
        {"commands": (("uv", "run", "pytest", "-x"),)},
        {"commands": (("uv", "run", "pytest", "-q"), ("true",))},
        {"workdir": "libs"},
        {"env": (("PYTHONDONTWRITEBYTECODE", "0"),)},
        {"env": ()},
        {"outputs": (".acme/junit/other.xml",)},
        {"outputs": ()},
    ],
)
def test_a_key_changes_with_each_part_of_the_step_definition(change: dict[str, Any]) -> None:
    assert key(dataclasses.replace(STEP, **change)) != key()


@pytest.mark.parametrize(
    "change",
    [
        {"reason": "--all"},
        {"needs": ()},
    ],
)
def test_a_key_ignores_why_the_step_runs_and_what_it_waits_for(change: dict[str, Any]) -> None:
    """A step selected for another reason, or after other steps, still hits its entry."""
    assert key(dataclasses.replace(STEP, **change)) == key()


def test_a_key_changes_with_any_input_content_name_or_presence() -> None:
    changed_content = {**DIGESTS, "libs/logger": "sha256:cd"}
    renamed = {("libs/log" if p == "libs/logger" else p): d for p, d in DIGESTS.items()}
    swapped = {**DIGESTS, "uv.lock": "sha256:bb", "pyproject.toml": "sha256:aa"}
    added = {**DIGESTS, ".github": "sha256:dd"}
    removed = {p: d for p, d in DIGESTS.items() if p != "pyproject.toml"}
    keys = {key(digests=d) for d in (DIGESTS, changed_content, renamed, swapped, added, removed)}
    assert len(keys) == 6
    assert key(digests={}) not in keys


def test_a_key_changes_with_what_the_container_is_made_of() -> None:
    newer = {**ENVIRONMENT, "python": "python:3.13-slim"}
    more = {**ENVIRONMENT, "services": "s3=motoserver/moto"}
    keys = {key(environment=e) for e in (ENVIRONMENT, newer, more, {})}
    assert len(keys) == 4


def test_a_new_entry_format_gives_every_step_a_new_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries of an older format are never read as the new one: they become misses."""
    before = key()
    monkeypatch.setattr(entry_format, "ENTRY_FORMAT", entry_format.ENTRY_FORMAT + 1)
    assert key() != before


def test_the_key_format_is_stable_across_releases() -> None:
    """The definition as sorted JSON, then one `\\n<path>\\0<digest>` per input in path order.

    A remote cache outlives the acme-ci that filled it: any change to this layout turns every
    stored entry into a miss for every runner that upgrades, so it changes only on purpose
    (a refactor of the key code must leave this test passing).
    """
    definition = (
        '{"commands": [["uv", "run", "pytest", "-q"]], '
        '"env": [["PYTHONDONTWRITEBYTECODE", "1"]], '
        '"environment": {"engine": "dagger", "python": "python:3.12-slim", "uv": "uv:0.5"}, '
        '"format": 2, "id": "acme-logger:test", "kind": "container", '
        '"outputs": [".acme/junit/acme-logger.xml"], "task": "test", "workdir": "libs/logger"}'
    )
    inputs = "\nlibs/logger\0sha256:cc\npyproject.toml\0sha256:bb\nuv.lock\0sha256:aa"
    assert key() == hashlib.sha256((definition + inputs).encode()).hexdigest()


@pytest.mark.parametrize(
    "bad",
    [
        "/home/runner/work/acme/uv.lock",
        "/uv.lock",
        "../uv.lock",
        "libs/../../uv.lock",
        "libs/logger/..",
        "",
    ],
)
def test_a_host_path_never_enters_a_key(bad: str) -> None:
    with pytest.raises(HostPathError) as error:
        key(digests={**DIGESTS, bad: "sha256:ee"})
    assert str(error.value) == f"key input {bad!r}: expected a root-relative path"
    assert isinstance(error.value, ValueError)


def test_root_relative_paths_with_dots_in_names_are_inputs_like_any_other() -> None:
    dotted = {"..hidden/x": "sha256:1", "libs/a..b": "sha256:2", ".github": "sha256:3"}
    assert key(digests=dotted) != key(digests={})
