"""The repository's Markdown tells the truth: links resolve, commands parse, every module is listed.

- every relative link in the Markdown documents (the root's, docs/, and each workspace
  member's) names an existing file or directory, and a `#anchor` names a heading of its
  target;
- every `./pipeline.sh ...` example in README.md and docs/ parses with acme-ci's own parser
  (`rehearse` examples with the rehearsal's), and the README's command table names exactly
  the options each verb has;
- every `dagger call ...` example in docs/ names a function and flags the module has (the
  README's are checked by dagger/test_cli_flags.py, whose checker this reuses);
- ci/README.md's "Where a change belongs" tables name every module under ci/src/acme_ci.

Natively the whole repository is here and everything is checked. In acme-ci's Dagger test
container the root holds only this package, the members' manifests and the files
acme_ci.dagger.containers.TOOL_TEST_ROOT_FILES lists (README.md among them, not docs/ or
CHANGELOG.md): a document or link target outside those is absent there by design. Such a
check is skipped, naming what it could not see, never passed; a path the container does
hold must exist, as natively.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from acme_ci.dagger.containers import TOOL_TEST_ROOT_FILES
from acme_ci.native import cli
from acme_ci.native.discover import load_workspace
from acme_ci.rehearsal import cli as rehearsal_cli

from .conftest import REPOSITORY, repository_file
from .dagger import test_cli_flags
from .dagger.test_cli_flags import Functions, call_errors, readme_calls

# dagger/test_cli_flags.py's fixture, shared: the module's functions as `dagger call` sees them.
functions = test_cli_flags.functions

PACKAGE_DIR = Path(__file__).resolve().parents[1]  # ci/: dagger.json's source
SOURCE = PACKAGE_DIR / "src" / "acme_ci"

FENCE = re.compile(r"^ {0,3}(```|~~~).*?^ {0,3}\1[ \t]*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.DOTALL)
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
# github-slugger's punctuation: what GitHub drops from a heading's text to make its anchor.
SLUG_DROPS = re.compile(r"[\u2000-\u206F\u2E00-\u2E7F\\'!\"#$%&()*+,./:;<=>?@\[\]^`{|}~]")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def relative(path: Path, root: Path = REPOSITORY) -> str:
    return path.relative_to(root).as_posix()


@dataclass
class Checkout:
    """What this checkout holds: the whole repository, or the Dagger test container's part."""

    members: tuple[str, ...]
    root: Path = REPOSITORY
    partial: bool = field(init=False)

    def __post_init__(self) -> None:
        # Every member's manifest is in the container (its dependency layer needs them); only
        # this package's sources are. Natively every member has its sources.
        self.partial = any(not (self.root / m / "src").is_dir() for m in self.members)

    def holds(self, path: str) -> bool:
        """Whether `path` (root-relative) must exist here, in whichever checkout this is."""
        if not self.partial:
            return True
        top = path.split("/", 1)[0]
        return (
            top == relative(PACKAGE_DIR)
            or top in TOOL_TEST_ROOT_FILES
            or path in ("pyproject.toml", "uv.lock")
            or (path.endswith("/pyproject.toml") and path.rsplit("/", 1)[0] in self.members)
        )


@pytest.fixture(scope="module")
def checkout() -> Checkout:
    return Checkout(tuple(p.path for p in load_workspace(REPOSITORY).packages))


def documents(checkout: Checkout) -> tuple[list[Path], list[str]]:
    """The Markdown documents present, and those this checkout cannot hold (partial only)."""
    root = checkout.root
    present = sorted(root.glob("*.md")) + sorted(root.glob("docs/*.md"))
    absent = []
    if not (root / "docs").is_dir():
        if checkout.holds("docs"):
            pytest.fail("docs/ is missing: the README links into it")
        absent.append("docs/*.md")
    if not (root / "CHANGELOG.md").is_file():
        if checkout.holds("CHANGELOG.md"):
            pytest.fail("CHANGELOG.md is missing")
        absent.append("CHANGELOG.md")
    for member in checkout.members:
        if (root / member / "README.md").is_file():
            present += sorted((root / member).glob("*.md"))
        elif checkout.holds(f"{member}/README.md"):
            pytest.fail(f"{member}/README.md is missing: every package has a README")
        else:
            absent.append(f"{member}/*.md")
    return present, absent


def prose(text: str) -> str:
    """The text with fenced code blocks and code spans blanked: links there are code."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return CODE_SPAN.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (github-slugger), from its text as rendered."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    return SLUG_DROPS.sub("", text.lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings; duplicates numbered as GitHub does."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    for _, heading in HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    """The relative link targets of a Markdown text (not URLs, not absolute paths)."""
    body = prose(text)
    found = INLINE_LINK.findall(body) + REFERENCE_LINK.findall(body)
    return [t for t in found if not SCHEME.match(t) and not t.startswith("/")]


# What a link check concludes besides a problem: the target is there, or this checkout
# cannot hold it (the Dagger test container), so it was not seen.
RESOLVES = "resolves"
UNSEEN = "unseen here"


def check_link(document: Path, target: str, checkout: Checkout) -> str:
    """RESOLVES, UNSEEN, or why `target`, a link in `document`, is broken."""
    where, _, anchor = target.partition("#")
    resolved = (document.parent / where).resolve() if where else document
    try:
        path = relative(resolved, checkout.root)
    except ValueError:
        return f"{target}: leaves the repository"
    if not resolved.exists():
        return f"{target}: no {path}" if checkout.holds(path) else UNSEEN
    if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
        return f"{target}: no heading #{anchor} in {path}"
    return RESOLVES


def checked_natively_only(what: list[str]) -> str:
    shown = "; ".join(what[:8]) + (f"; and {len(what) - 8} more" if len(what) > 8 else "")
    return f"checked natively only (this Dagger test container does not hold them): {shown}"


def test_every_relative_link_resolves(checkout: Checkout) -> None:
    present, absent = documents(checkout)
    problems: list[str] = []
    unseen = [f"links in {a}" for a in absent]
    for document in present:
        for target in links(document.read_text(encoding="utf-8")):
            verdict = check_link(document, target, checkout)
            if verdict == UNSEEN:
                unseen.append(f"{relative(document)} -> {target}")
            elif verdict != RESOLVES:
                problems.append(f"{relative(document)}: {verdict}")
    assert problems == []
    if unseen:
        pytest.skip(checked_natively_only(unseen))


def test_the_link_check_finds_broken_links_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# Title\n\n## Quick start\n", encoding="utf-8")
    guide = tmp_path / "docs" / "guide.md"
    guide.write_text("# Guide\n\n## Journal and --cleanup\n", encoding="utf-8")
    whole = Checkout((), root=tmp_path)
    assert check_link(guide, "../README.md#quick-start", whole) == RESOLVES
    assert check_link(guide, "#journal-and---cleanup", whole) == RESOLVES
    assert check_link(guide, "..", whole) == RESOLVES
    assert check_link(guide, "#no-such-heading", whole) == (
        "#no-such-heading: no heading #no-such-heading in docs/guide.md"
    )
    assert check_link(guide, "missing.md", whole) == "missing.md: no docs/missing.md"
    assert check_link(guide, "../../outside.md", whole) == "../../outside.md: leaves the repository"
    # A partial checkout (a member without its sources) may lack what the container lacks...
    (tmp_path / "services" / "api").mkdir(parents=True)
    container = Checkout(("services/api",), root=tmp_path)
    assert check_link(guide, "../services/api/README.md", container) == UNSEEN
    # ...but never what the container holds.
    assert check_link(guide, "../README.md#no-such-heading", container) != RESOLVES
    assert check_link(guide, "../ci/README.md", container) == "../ci/README.md: no ci/README.md"
    text = (
        "[a](x.md) `[b](code.md)` [c](https://example.com)\n```\n[d](fenced.md)\n```\n[e]: y.md\n"
    )
    assert links(text) == ["x.md", "y.md"]


def test_heading_anchors_follow_githubs_rules() -> None:
    assert slug("Journal and --cleanup") == "journal-and---cleanup"
    assert slug("Rehearsing the Dagger module: `./pipeline.sh rehearse`") == (
        "rehearsing-the-dagger-module-pipelinesh-rehearse"
    )
    assert slug("The [changelog](CHANGELOG.md), newest first") == "the-changelog-newest-first"


def pipeline_examples(text: str) -> list[list[str]]:
    """The arguments after `./pipeline.sh` of every example: command lines of code blocks
    (comments dropped) and inline code spans, up to a redirection or pipe (`> FILE`, `| jq`:
    the shell's, not the pipeline's)."""
    commands = [
        line.strip().split(" #", 1)[0]
        for line in text.splitlines()
        if line.strip().startswith("./pipeline.sh ")
    ]
    commands += re.findall(r"`(\./pipeline\.sh [^`]*)`", text)
    return [pipeline_arguments(command) for command in commands]


def pipeline_arguments(command: str) -> list[str]:
    """`./pipeline.sh`'s own arguments in one shell command line."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    shell = next((i for i, word in enumerate(words) if set(word) <= set("<>|&;")), len(words))
    return words[1:shell]


def test_an_example_ends_where_the_shell_takes_over() -> None:
    assert pipeline_arguments("./pipeline.sh plan --all --format json > plan.json") == [
        "plan",
        "--all",
        "--format",
        "json",
    ]
    assert pipeline_arguments("./pipeline.sh plan --all|jq .") == ["plan", "--all"]
    assert pipeline_arguments("./pipeline.sh ci --package 'a b'") == ["ci", "--package", "a b"]


def parse_error(argv: list[str]) -> str | None:
    """argparse's complaint about `./pipeline.sh ARGV`, or None when it parses."""
    if argv[:1] == ["rehearse"]:
        parser, words = rehearsal_cli.build_parser(), argv[1:]
    else:
        parser, words = cli.build_parser(cli.invoked_verb(argv)), argv
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(words)
        except SystemExit as stop:
            if stop.code == 0:  # --help
                return None
            return stderr.getvalue().strip().splitlines()[-1]
    return None


def example_sources(checkout: Checkout) -> tuple[list[Path], list[str]]:
    present, absent = documents(checkout)
    ours = [d for d in present if d.parent in (REPOSITORY, REPOSITORY / "docs")]
    return [d for d in ours if d.name != "CHANGELOG.md"], [a for a in absent if "docs" in a]


def test_every_pipeline_example_parses(checkout: Checkout) -> None:
    sources, absent = example_sources(checkout)
    readme = repository_file("README.md")
    assert pipeline_examples(readme.read_text(encoding="utf-8")), "README shows no example"
    problems = {
        f"{relative(source)}: ./pipeline.sh {shlex.join(argv)}": error
        for source in sources
        for argv in pipeline_examples(source.read_text(encoding="utf-8"))
        if (error := parse_error(argv))
    }
    assert problems == {}
    if absent:
        pytest.skip(checked_natively_only([f"./pipeline.sh examples in {a}" for a in absent]))


def test_the_example_check_rejects_what_the_parser_refuses() -> None:
    assert parse_error(["ci", "--all", "--jobs", "2"]) is None
    assert parse_error(["rehearse", "--fresh", "ci", "--all"]) is None
    assert parse_error(["ci", "--all", "--base", "x"]) is not None
    assert parse_error(["plan", "--no-cache"]) is not None
    assert parse_error(["rehearse", "ci", "--package", "x"]) is not None
    assert parse_error(["no-such-verb"]) is not None
    assert parse_error(["ci", "--help"]) is None


def verb_options(parser: argparse.ArgumentParser, verb: str) -> list[tuple[str, ...]]:
    """Each option `verb --help` shows, as its option strings (--help itself left out)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub: argparse.ArgumentParser = action.choices[verb]
            return [
                tuple(a.option_strings)
                for a in sub._actions
                if a.option_strings
                and a.help != argparse.SUPPRESS
                and not isinstance(a, argparse._HelpAction)
            ]
    raise AssertionError(f"no verb {verb}")


def command_table(text: str) -> dict[str, str]:
    """The README's command table: each row's first cell (the verb's synopsis), by verb."""
    rows = re.findall(r"^\| `([a-z]+)( [^`]*)?` \|", text, re.MULTILINE)
    return {verb: synopsis for verb, synopsis in rows}


def test_the_command_table_names_exactly_each_verbs_options() -> None:
    table = command_table(repository_file("README.md").read_text(encoding="utf-8"))
    assert set(cli.VERBS) | {"rehearse"} <= set(table), "a verb is missing from the table"
    problems = []
    for verb in cli.VERBS:
        named = set(re.findall(r"--[a-z][a-z-]*", table[verb]))
        options = verb_options(cli.build_parser(verb), verb)
        known = {flag for flags in options for flag in flags}
        problems += [f"{verb}: no option {flag}" for flag in sorted(named - known)]
        problems += [
            f"{verb}: {flags[0]} not in the table" for flags in options if not named & set(flags)
        ]
    rehearse_known = {
        flag for action in rehearsal_cli.build_parser()._actions for flag in action.option_strings
    }
    named = set(re.findall(r"--[a-z][a-z-]*", table["rehearse"]))
    problems += [f"rehearse: no option {flag}" for flag in sorted(named - rehearse_known)]
    assert problems == []


@pytest.mark.anyio
async def test_every_dagger_call_example_in_docs_parses(
    functions: Functions, checkout: Checkout
) -> None:
    sources, absent = example_sources(checkout)
    pages = [source for source in sources if source.parent == REPOSITORY / "docs"]
    if absent:
        pytest.skip(checked_natively_only([f"dagger call examples in {a}" for a in absent]))
    calls = {
        f"{relative(page)}: dagger call {shlex.join(argv)}": argv
        for page in pages
        for argv in readme_calls(page.read_text(encoding="utf-8"))
    }
    assert calls, "docs/ shows no `dagger call` example"
    problems = {call: call_errors(argv, functions) for call, argv in calls.items()}
    assert {call: errors for call, errors in problems.items() if errors} == {}


def table_modules(text: str) -> set[str]:
    """The modules ci/README.md's "Where a change belongs" section names in its tables' first
    column, as paths under acme_ci."""
    section = text.split("## Where a change belongs", 1)[-1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9_/]+\.py)` \|", section, re.MULTILINE))


def source_modules() -> set[str]:
    """Every module under acme_ci; a package's __init__.py is its folder's table."""
    return {
        path.relative_to(SOURCE).as_posix()
        for path in SOURCE.rglob("*.py")
        if path.name != "__init__.py" and "__pycache__" not in path.parts
    }


def test_ci_readme_names_every_module_where_a_change_belongs() -> None:
    readme = (PACKAGE_DIR / "README.md").read_text(encoding="utf-8")
    listed, present = table_modules(readme), source_modules()
    assert listed, 'ci/README.md has no "Where a change belongs" table'
    assert {"missing from ci/README.md": sorted(present - listed)} == {
        "missing from ci/README.md": []
    }
    assert {"in ci/README.md, not in src": sorted(listed - present)} == {
        "in ci/README.md, not in src": []
    }
    folders = {m.rsplit("/", 1)[0] for m in present if "/" in m}
    headings = set(re.findall(r"^### `([a-z0-9_/]+)/`", readme, re.MULTILINE))
    assert folders - headings == set(), "each folder has its own table, under its heading"
