"""Affected selection: changed packages plus exactly their transitive dependents, with reasons."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acme_ci.core.affected import SelectionError, select_affected, select_all, select_packages
from acme_ci.core.workspace import Workspace, parse_workspace

from .graphs import dag_manifests, reference_dependents


def _workspace(graph: dict[str, tuple[str, ...]]) -> Workspace:
    manifests = {}
    for name, deps in graph.items():
        reqs = ", ".join(f'"{d}"' for d in deps)
        manifests[f"pkgs/{name}"] = f'[project]\nname = "{name}"\ndependencies = [{reqs}]\n'
    return parse_workspace(manifests)


GRAPH = {"log": (), "health": ("log",), "user": ("health", "log"), "tool": ()}


# Generation speed depends on the machine's load (CI runners are shared): not a defect.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(dag_manifests(), st.data())
def test_selection_is_changed_packages_plus_exactly_their_dependents(
    graph: dict[str, tuple[str, ...]], data: st.DataObject
) -> None:
    ws = _workspace(graph)
    changed = data.draw(st.sets(st.sampled_from(sorted(graph))))
    files = [f"pkgs/{name}/src/module.py" for name in changed]
    files += data.draw(st.lists(st.sampled_from(["README.md", "docs/guide.md", "notes.txt"])))
    selection = select_affected(ws, files)
    assert set(selection.packages) == reference_dependents(graph, changed)
    for name in selection.packages:
        assert selection.reasons[name]  # every selected package says why


def test_reasons_name_the_changed_file_and_the_dependency() -> None:
    selection = select_affected(_workspace(GRAPH), ["pkgs/log/src/x.py"])
    assert selection.packages == ("health", "log", "user")
    assert selection.reasons["log"] == ("changed: pkgs/log/src/x.py",)
    assert selection.reasons["health"] == ("depends on log",)


def test_lock_file_and_root_config_select_everything() -> None:
    ws = _workspace(GRAPH)
    assert select_affected(ws, ["uv.lock"]).packages == ws.names
    assert select_affected(ws, ["pyproject.toml"]).packages == ws.names


def test_docs_outside_packages_select_nothing_and_say_so() -> None:
    selection = select_affected(_workspace(GRAPH), ["README.md", "docs/a.md"])
    assert selection.packages == ()
    assert selection.ignored_files == ("README.md", "docs/a.md")
    assert "outside every package" in selection.note


def test_all_and_named_packages() -> None:
    ws = _workspace(GRAPH)
    assert select_all(ws, "no --base given").packages == ws.names
    assert "no --base given" in select_all(ws, "no --base given").note
    assert select_packages(ws, ["log"]).packages == ("log",)  # exactly: no dependents
    with pytest.raises(SelectionError, match=r"unknown package.*nope.*known packages: health"):
        select_packages(ws, ["nope"])
