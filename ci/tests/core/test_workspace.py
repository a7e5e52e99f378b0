"""The workspace model: members, internal edges, settings, and the errors users can act on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acme_ci.core.affected import SelectionError, select_affected, select_all, select_packages
from acme_ci.core.workspace import (
    PackageSettings,
    Workspace,
    WorkspaceError,
    member_patterns,
    parse_workspace,
)

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


# The workspace model and selection as a user meets them: what a manifest may say, what
# each mistake is called, and which packages a change or a flag selects, with its reasons.
#
# Built from mutation testing (bench/mutation.py): every workspace here is parsed inside its
# test, so mutmut ties the test to the functions it exercises.


def manifest(name: str, deps: tuple[str, ...] = (), extra: str = "") -> str:
    requirements = ", ".join(f'"{d}"' for d in deps)
    return f'[project]\nname = "{name}"\ndependencies = [{requirements}]\n{extra}'


def chain() -> Workspace:
    """Names sort against the dependency order: zeta <- mid <- alpha (alpha uses mid...)."""
    return parse_workspace(
        {
            "libs/zeta": manifest("zeta"),
            "libs/mid": manifest("mid", ("zeta",)),
            "apps/alpha": manifest("alpha", ("mid",)),
            "apps/other": manifest("other"),
        }
    )


def test_dependents_are_found_whatever_order_the_names_sort_in() -> None:
    ws = chain()
    assert ws.dependents_closure(["zeta"]) == {"zeta", "mid", "alpha"}
    assert ws.dependents_closure(["Zeta"]) == {"zeta", "mid", "alpha"}
    selection = select_affected(ws, ["libs/zeta/src/zeta/core.py"])
    assert selection.reasons == {
        "alpha": ("depends on zeta",),
        "mid": ("depends on zeta",),
        "zeta": ("changed: libs/zeta/src/zeta/core.py",),
    }


def test_package_fields_come_from_the_manifest_with_defaults() -> None:
    ws = parse_workspace(
        {
            "": manifest(
                "Root_Tool",
                extra=(
                    'version = "2.1.0"\n'
                    '[project.scripts]\nzz = "m:f"\naa = "m:g"\n'
                    "[tool.importlinter]\nroot_packages = ['root_tool']\n"
                    "[tool.pyright]\ninclude = ['src']\n"
                ),
            ),
            "libs/plain/": manifest("plain"),
        }
    )
    root = ws.get("root-tool")
    assert (root.path, root.import_name, root.version) == (".", "root_tool", "2.1.0")
    assert root.scripts == ("aa", "zz")
    assert root.settings.import_contracts is True
    assert root.settings.pyright is True
    plain = ws.get("PLAIN")
    assert (plain.path, plain.version, plain.scripts) == ("libs/plain", "0.0.0", ())
    assert plain.settings == PackageSettings()
    assert plain.settings.max_suite_reruns == 0
    assert plain.settings.import_contracts is False
    assert plain.settings.pyright is False


def test_a_workflow_directory_is_named_from_the_package_and_kept_from_the_root() -> None:
    lint = '[tool.acme.lint]\nworkflows = "{}"\n'
    ws = parse_workspace(
        {
            "ci": manifest("tool", extra=lint.format("../.github/workflows")),
            ".": manifest("root", extra=lint.format("./.github/workflows/")),
            "libs/deep": manifest("deep", extra=lint.format("../../.github/workflows")),
            "libs/own": manifest("own", extra=lint.format("workflows")),
            "libs/plain": manifest("plain", extra="[tool.acme.lint]\n"),
        }
    )
    assert ws.get("tool").settings.workflows == ".github/workflows"
    assert ws.get("root").settings.workflows == ".github/workflows"
    assert ws.get("deep").settings.workflows == ".github/workflows"
    assert ws.get("own").settings.workflows == "libs/own/workflows"
    assert ws.get("plain").settings.workflows is None


def test_scripts_that_are_not_a_table_are_ignored() -> None:
    ws = parse_workspace({"a": '[project]\nname = "a"\nscripts = ["x"]\n'})
    assert ws.get("a").scripts == ()


def test_the_innermost_member_owns_a_file() -> None:
    ws = parse_workspace({"libs/outer": manifest("outer"), "libs/outer/inner": manifest("inner")})
    assert ws.owner_of("libs/outer/inner/src/x.py") == ws.get("inner")
    assert ws.owner_of("libs/outer/src/x.py") == ws.get("outer")
    assert ws.owner_of("libs/outer") == ws.get("outer")


def test_a_source_list_is_not_a_workspace_member() -> None:
    extra = '[tool.uv.sources]\nhttpx = [{ index = "a" }, { index = "b" }]\n'
    ws = parse_workspace({"a": manifest("a", ("httpx",), extra)})
    assert ws.get("a").dependencies == ()


def test_members_of_the_root_manifest() -> None:
    root = '[tool.uv.workspace]\nmembers = ["common/*", "ci"]\n'
    assert member_patterns(root) == ("common/*", "ci")
    assert member_patterns("") == ()
    assert member_patterns("[tool.ruff]\nline-length = 100\n") == ()
    assert member_patterns("[tool.uv]\npackage = false\n") == ()
    for bad in ('members = "common/*"', "members = [1]"):
        with pytest.raises(WorkspaceError) as error:
            member_patterns(f"[tool.uv.workspace]\n{bad}\n")
        assert str(error.value) == (
            "root pyproject.toml: [tool.uv.workspace] members must be strings"
        )


@pytest.mark.parametrize(
    ("manifests", "message"),
    [
        ({"a": "[project\n"}, "a/pyproject.toml is not valid TOML: "),
        ({"a": "[tool.ruff]\n"}, "a/pyproject.toml has no [project] name"),
        ({"a": "[project]\nversion = '1'\n"}, "a/pyproject.toml has no [project] name"),
        (
            {"x/a": manifest("a"), "y/a": manifest("A")},
            "package a is declared twice: x/a and y/a",
        ),
        (
            {"a": '[project]\nname = "a"\ndependencies = ["==1.0"]\n'},
            "a: cannot read dependency '==1.0'",
        ),
        (
            {"a": manifest("a", ("a",))},
            "dependency cycle: a -> a",
        ),
        (
            {"a": manifest("a", extra="[tool.uv.sources]\nb = { workspace = true }\n")},
            "a depends on b as a workspace member, but no member declares that name",
        ),
        ({"a": '[project]\nname = "a"\n[tool]\nacme = 3\n'}, "a: [tool.acme] must be a table"),
        (
            {"a": manifest("a", extra='[tool.acme]\nkind = "app"\n')},
            "a: [tool.acme] kind must be one of library, service, tool",
        ),
        (
            {"a": manifest("a", extra="[tool.acme.test]\nmax-suite-reruns = true\n")},
            "a: [tool.acme.test] max-suite-reruns must be an int >= 0",
        ),
        (
            {"a": manifest("a", extra='[tool.acme.test]\nmax-suite-reruns = "3"\n')},
            "a: [tool.acme.test] max-suite-reruns must be an int >= 0",
        ),
        (
            {"a": manifest("a", extra='[tool.acme.test]\nservices = "s3"\n')},
            "a: [tool.acme.test] services must be a list of strings",
        ),
        (
            {"a": manifest("a", extra="[tool.acme.test]\nservices = [3]\n")},
            "a: [tool.acme.test] services must be a list of strings",
        ),
        (
            {"a": manifest("a", extra="[tool.acme.service]\nport = true\n")},
            "a: [tool.acme.service] port must be an integer",
        ),
        (
            {"a": manifest("a", extra='[tool.acme]\nlint = "../.github/workflows"\n')},
            "a: [tool.acme.lint] must be a table",
        ),
        *(
            (
                {"libs/a": manifest("a", extra=f"[tool.acme.lint]\nworkflows = {value}\n")},
                "a: [tool.acme.lint] workflows must be a directory inside the workspace, "
                f'relative to the package (e.g. "../.github/workflows"); got {shown}',
            )
            for value, shown in [
                ('"../../../outside"', "'../../../outside'"),  # above the root
                ('"../../.."', "'../../..'"),  # the root's parent itself
                ('"/etc/workflows"', "'/etc/workflows'"),
                ('""', "''"),
                ("['.github']", "['.github']"),
            ]
        ),
    ],
)
def test_each_manifest_mistake_is_named(manifests: dict[str, str], message: str) -> None:
    with pytest.raises(WorkspaceError) as error:
        parse_workspace(manifests)
    assert str(error.value).startswith(message)


def test_unknown_names_list_the_known_packages() -> None:
    ws = chain()
    with pytest.raises(KeyError) as error:
        ws.get("nope")
    assert "unknown package 'nope'; known packages: alpha, mid, other, zeta" in str(error.value)
    with pytest.raises(SelectionError) as selection_error:
        select_packages(ws, ["nope", "Zeta", "also-not"])
    assert str(selection_error.value) == (
        "unknown package(s): also-not, nope; known packages: alpha, mid, other, zeta"
    )


def test_named_and_all_selections_say_why() -> None:
    ws = chain()
    named = select_packages(ws, ["Mid", "mid", "other"])
    assert named.reasons == {"mid": ("--package",), "other": ("--package",)}
    assert named.note == "--package"
    everything = select_all(ws)
    assert everything.reasons == {n: ("--all",) for n in ("alpha", "mid", "other", "zeta")}
    assert everything.note == "all packages: --all"
    assert select_all(ws, "no --base").note == "all packages: no --base"


def test_root_files_select_everything_and_say_which_file() -> None:
    ws = chain()
    selection = select_affected(ws, ["uv.lock", "libs/zeta/x.py"])
    assert selection.reasons["other"] == ("root file changed: uv.lock",)
    assert selection.reasons["zeta"] == ("changed: libs/zeta/x.py", "root file changed: uv.lock")
    assert selection.reasons["alpha"] == ("root file changed: uv.lock",)
    assert selection.note == "4 of 4 packages affected"
    assert selection.ignored_files == ()


def test_files_outside_every_package_are_counted_by_kind() -> None:
    ws = chain()
    selection = select_affected(ws, ["docs/a.md", "docs/b.md", "LICENSE", "apps/other/x.py"])
    assert selection.packages == ("other",)
    assert selection.ignored_files == ("LICENSE", "docs/a.md", "docs/b.md")
    assert selection.note == (
        "1 of 4 packages affected; 3 changed file(s) outside every package select nothing"
        " (.md, LICENSE)"
    )
    nothing = select_affected(ws, [])
    assert (nothing.reasons, nothing.note) == ({}, "0 of 4 packages affected")


def test_every_missing_member_is_named_and_member_paths_keep_their_letters() -> None:
    sources = "[tool.uv.sources]\nb = { workspace = true }\nc = { workspace = true }\n"
    with pytest.raises(WorkspaceError, match=r"^a depends on b, c as a workspace member, "):
        parse_workspace({"a": manifest("a", extra=sources)})
    ws = parse_workspace({"/tools/X/": manifest("x"), "libs/pkgX": manifest("pkgx")})
    assert ws.get("x").path == "tools/X"
    assert ws.get("pkgx").path == "libs/pkgX"
