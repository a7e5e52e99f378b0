"""The workspace model: members, internal edges, settings, and the errors users can act on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acme_ci.core.workspace import WorkspaceError, member_patterns, parse_workspace

from .graphs import dag_manifests, reference_dependents


def _manifest(name: str, deps: tuple[str, ...] = (), extra: str = "") -> str:
    reqs = ", ".join([*(f'"{d}>=0.1"' for d in deps), '"anyio>=4"'])
    sources = "".join(f"{d} = {{ workspace = true }}\n" for d in deps)
    text = f'[project]\nname = "{name}"\nversion = "1.2.3"\ndependencies = [{reqs}]\n'
    if sources:
        text += f"[tool.uv.sources]\n{sources}"
    return text + extra


def test_members_dependencies_and_settings_are_read() -> None:
    ws = parse_workspace(
        {
            "libs/log": _manifest("Acme_Log"),
            "svc/api": _manifest(
                "acme-api",
                ("acme-log",),
                '[project.scripts]\napi = "x:y"\n'
                '[tool.acme]\nkind = "service"\n[tool.acme.test]\nmax-suite-reruns = 2\n'
                'services = ["s3"]\n[tool.acme.service]\napp = "m:f"\nport = 3000\n'
                'script = "api"\n',
            ),
        }
    )
    assert ws.names == ("acme-api", "acme-log")
    api = ws.get("acme-api")
    assert api.dependencies == ("acme-log",)  # anyio is third-party: not an internal edge
    assert api.path == "svc/api"
    assert api.import_name == "acme_api"
    assert api.settings.kind == "service"
    assert api.settings.max_suite_reruns == 2
    assert api.settings.test_services == ("s3",)
    assert (api.settings.service_app, api.settings.service_port) == ("m:f", 3000)
    assert api.settings.service_script == "api"
    assert ws.get("acme-log").settings.kind == "library"
    assert ws.owner_of("svc/api/src/acme_api/x.py") == api
    assert ws.owner_of("svc/apix/file") is None


def test_member_patterns_come_from_the_root_manifest() -> None:
    text = '[tool.uv.workspace]\nmembers = ["common/*", "ci"]\n'
    assert member_patterns(text) == ("common/*", "ci")


def test_a_cycle_names_its_packages() -> None:
    with pytest.raises(WorkspaceError, match=r"cycle: (a -> b -> c -> a|b -> c -> a -> b)"):
        parse_workspace(
            {
                "a": _manifest("a", ("b",)),
                "b": _manifest("b", ("c",)),
                "c": _manifest("c", ("a",)),
            }
        )


def test_a_missing_member_dependency_names_both_packages() -> None:
    with pytest.raises(WorkspaceError, match="api depends on ghost"):
        parse_workspace({"api": _manifest("api", ("ghost",))})


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[tool.acme]\nkind = "daemon"\n', "kind must be one of"),
        ("[tool.acme.test]\nmax-suite-reruns = -1\n", "max-suite-reruns"),
        ('[tool.acme.service]\nport = "80"\n', "port must be an integer"),
    ],
)
def test_bad_settings_are_rejected(extra: str, message: str) -> None:
    with pytest.raises(WorkspaceError, match=message):
        parse_workspace({"p": _manifest("p", extra=extra)})


@given(dag_manifests(), st.data())
def test_dependents_closure_is_exactly_the_reverse_reachable_set(
    graph: dict[str, tuple[str, ...]], data: st.DataObject
) -> None:
    ws = parse_workspace({name: _manifest(name, deps) for name, deps in graph.items()})
    seeds = data.draw(st.sets(st.sampled_from(sorted(graph))))
    assert ws.dependents_closure(seeds) == reference_dependents(graph, seeds)
    for name in graph:
        assert name not in ws.dependencies_closure(name)
