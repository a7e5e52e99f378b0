"""The command line built for the invoked verb only answers as the whole one does."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pytest

from acme_ci.native.cli import build_parser, invoked_verb

ACCEPTED = [
    ["ci"],
    ["-C", "ci", "ci", "--all", "--jobs", "3"],  # -C's value may look like a verb
    ["-Csomewhere", "plan", "--base", "origin/main", "--format", "json"],
    ["ci", "--package", "a", "--package", "b", "--no-cache", "--schedule", "plan-order"],
    ["ci", "--cache-url", "s3://b/p", "--cache-read-only", "--runner", "native"],
    ["cd", "--version", "1.2.0", "--engine", "dagger"],  # --runner's deprecated alias
    ["test", "--jobs", "1", "--report", "r.json"],
    ["cd", "--version", "1.2.0", "--artifacts", "out", "--jobs", "2"],
]
REFUSED = [
    [],
    ["deploy"],
    ["ci", "--format", "json"],  # another verb's option
    ["ci", "--jobs", "0"],
    ["ci", "--all", "--package", "a"],
    ["plan", "--jobs", "2"],
    ["cd"],  # --version is required
    ["ci", "--runner", "docker"],
    ["ci", "--engine", "docker"],
    ["-C"],
    ["--", "ci"],
]


def outcome(
    parser: argparse.ArgumentParser, argv: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> tuple[object, str]:
    try:
        return vars(parser.parse_args(argv)), ""
    except SystemExit as stop:
        return stop.code, capsys.readouterr().err


@pytest.mark.parametrize("argv", ACCEPTED + REFUSED)
def test_the_verbs_parser_parses_and_refuses_as_the_whole_one(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    whole = outcome(build_parser(), argv, capsys)
    assert outcome(build_parser(invoked_verb(argv)), argv, capsys) == whole
    assert (whole[0] == 2) == (argv in REFUSED)


@pytest.mark.parametrize("argv", [["--help"], ["ci", "--help"], ["cd", "-h"], ["-C", "x", "-h"]])
def test_help_is_the_same_text(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    texts = []
    for parser in (build_parser(), build_parser(invoked_verb(argv))):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)
        texts.append(capsys.readouterr().out)
    assert texts[0] == texts[1]
    assert "usage: acme-ci" in texts[0]


def test_the_verb_is_read_past_the_directory_option() -> None:
    assert invoked_verb(["-C", "ci", "plan"]) == "plan"
    assert invoked_verb(["-Cdir", "cd", "--version", "1"]) == "cd"
    assert invoked_verb(["--help"]) is None
    assert invoked_verb(["nonsense", "ci"]) is None


@pytest.mark.parametrize("verb", [["ci"], ["cd", "--version", "1.2.0"]])
def test_the_old_engine_flag_is_runner_under_its_old_name_hidden_from_help(
    verb: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for runner in ("auto", "native", "dagger"):
        old = build_parser().parse_args([*verb, "--engine", runner])
        assert vars(old) == vars(build_parser().parse_args([*verb, "--runner", runner]))
        assert old.runner == runner
    assert capsys.readouterr().err.count("warning: --engine is deprecated, use --runner") == 3
    assert build_parser().parse_args(verb).runner == "auto"
    with pytest.raises(SystemExit):
        build_parser().parse_args([*verb, "--help"])
    help_text = capsys.readouterr().out
    assert "--runner {auto,native,dagger}" in help_text
    assert "--engine" not in help_text
