"""`acme-ci`: the pipeline's command line (one module per verb in acme_ci.native.commands)."""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

RUNNERS = ("auto", "native", "dagger")


class _DeprecatedAlias(argparse.Action):
    """Stores like the option it stands for, and says on stderr which one to use instead."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        print(
            f"acme-ci: warning: {option_string} is deprecated, use --{self.dest}",
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def _selection_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--base", metavar="REF", help="select packages changed since REF")
    group.add_argument("--all", action="store_true", help="select every package")
    group.add_argument(
        "--package",
        metavar="NAME",
        action="append",
        default=[],
        help="select exactly this package (repeatable)",
    )


def _run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-cache", action="store_true", help="run every step, store nothing")
    parser.add_argument(
        "--jobs", type=_positive, default=os.cpu_count() or 1, help="parallel steps (default: CPUs)"
    )
    parser.add_argument("--report", metavar="FILE", help="write a JSON run report to FILE")
    parser.add_argument(
        "--schedule",
        choices=("longest-chain", "plan-order"),
        default="longest-chain",
        help="which ready step starts first: the longest remaining chain by recorded "
        "durations (default), or plan order",
    )
    _remote_flags(parser)
    parser.add_argument(
        "--runner",
        choices=RUNNERS,
        default="auto",
        help="which runs the pipeline: auto = the Dagger runner when a Dagger engine answers, "
        "else the native runner",
    )
    # Its old name, kept so existing scripts still work; hidden from --help.
    parser.add_argument(
        "--engine", choices=RUNNERS, dest="runner", action=_DeprecatedAlias, help=argparse.SUPPRESS
    )


def _remote_flags(parser: argparse.ArgumentParser) -> None:
    remote = parser.add_argument_group(
        "remote cache",
        "an S3 step cache behind the local one; credentials, region and endpoint from boto3's "
        "configuration (AWS_* variables, profiles); ACME_CACHE_SIGNING_KEY signs and checks "
        "every entry",
    )
    remote.add_argument(
        "--cache-url", metavar="s3://BUCKET/PREFIX", help="remote cache (env: ACME_CACHE_URL)"
    )
    remote.add_argument(
        "--cache-read-only",
        action="store_true",
        help="read the remote cache, never write it (env: ACME_CACHE_READ_ONLY=1)",
    )
    remote.add_argument(
        "--cache-scope",
        metavar="BRANCH",
        help="the scope this run writes and reads first (env: ACME_CACHE_SCOPE; "
        "default: GITHUB_REF_NAME, else the checked-out branch)",
    )
    remote.add_argument(
        "--cache-default-scope",
        metavar="BRANCH",
        help="the default branch's scope, read second (env: ACME_CACHE_DEFAULT_SCOPE; "
        "default: main)",
    )


def _shard_flags(parser: argparse.ArgumentParser, verb: str) -> None:
    """The flags of a sharded run: `ci --shard K/N` runs one shard, `verdict` gathers them."""
    shards = parser.add_argument_group(
        "shards", "one plan cut into shards, each run by a runner of its own (docs/sharding.md)"
    )
    if verb == "ci":
        shards.add_argument(
            "--shard", metavar="K/N", help="run only shard K of N and write its shard report"
        )
    else:
        shards.add_argument(
            "--shards", metavar="N", help="the shard count, when no --shard-plan is given"
        )
    shards.add_argument(
        "--shard-plan",
        metavar="FILE",
        help="the shard plan the plan job wrote (`plan --shards N --format json`); "
        "default: cut here from this checkout's recorded durations",
    )
    _target_flag(shards)
    shards.add_argument(
        "--shard-report-dir",
        metavar="DIR",
        help="where shard reports are written (ci) or found, in any subdirectory (verdict); "
        "with a writable --cache-url they also go to the remote cache",
    )
    shards.add_argument(
        "--run-id",
        metavar="ID",
        help="the run the shards belong to, naming their reports in the remote cache "
        "(default: GITHUB_RUN_ID; the attempt is GITHUB_RUN_ATTEMPT)",
    )


def _target_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    # No default here: it is acme_ci.core.shards.TARGET_SHARD_SECONDS, which the verbs read
    # (importing the sharding modules would cost every warm `ci` a few milliseconds).
    parser.add_argument(
        "--shard-target",
        metavar="SECONDS",
        type=_seconds,
        help="the length a shard aims at: --shards auto divides the expected work by it, and "
        "a longer test suite is split into groups of its files (default: 60)",
    )


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds above 0")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


VERBS = ("ci", "plan", "test", "cd", "verdict")


def build_parser(verb: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `verb`, only that verb's options are added (the others
    keep their one-line help): a warm `acme-ci ci` spends a twentieth of its time here."""
    parser = argparse.ArgumentParser(
        prog="acme-ci", description="Build, test and ship the ACME monorepo: only what changed."
    )
    parser.add_argument("-C", dest="directory", default=".", help="run as if started in DIR")
    sub = parser.add_subparsers(dest="command", required=True)
    wanted = VERBS if verb is None else (verb,)

    ci = sub.add_parser("ci", help="lint, test and build the affected packages")
    if "ci" in wanted:
        _selection_flags(ci)
        _run_flags(ci)
        _shard_flags(ci, "ci")

    plan = sub.add_parser("plan", help="show what `ci` would run and why, without running it")
    if "plan" in wanted:
        _selection_flags(plan)
        plan.add_argument(
            "--format", choices=("text", "json", "mermaid", "github-matrix"), default="text"
        )
        plan.add_argument(
            "--shards",
            metavar="N|auto",
            help="cut the plan into N shards (auto: from the expected work and --shard-target)",
        )
        _target_flag(plan)

    test = sub.add_parser("test", help="run every package's tests (no selection, no cache)")
    if "test" in wanted:
        test.add_argument("--jobs", type=_positive, default=os.cpu_count() or 1)
        test.add_argument("--report", metavar="FILE", help="write a JSON run report to FILE")

    cd = sub.add_parser("cd", help="ci, publish wheels, maintenance, deploy smoke test")
    if "cd" in wanted:
        cd.add_argument("--version", required=True, help="release version (PEP 440), e.g. 1.2.0")
        cd.add_argument(
            "--artifacts", metavar="DIR", help="where wheels go (default: dist/release/VERSION)"
        )
        _run_flags(cd)

    verdict = sub.add_parser("verdict", help="gather every shard's report into one verdict")
    if "verdict" in wanted:
        _selection_flags(verdict)
        _shard_flags(verdict, "verdict")
        verdict.add_argument("--report", metavar="FILE", help="write a JSON run report to FILE")
        _remote_flags(verdict)
    return parser


def invoked_verb(argv: Sequence[str]) -> str | None:
    """The verb `argv` runs, read as argparse reads it (after `-C DIR`); None when it names
    none or asks for the top-level help (then the whole parser is built and answers)."""
    words = iter(argv)
    for word in words:
        if word == "-C":
            next(words, None)
        elif not word.startswith("-C"):
            return word if word in VERBS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(invoked_verb(words)).parse_args(words)
    # Imported on demand so `acme-ci plan` never pays for what `cd` needs.
    module = importlib.import_module(f"acme_ci.native.commands.{args.command}")
    code: int = module.run(args)
    return code


def entry() -> NoReturn:
    """The `acme-ci` console script: main(), then the process ends without tearing the
    interpreter down.

    By then every file a verb writes is closed and every thread it started has ended (a
    run awaits its remote stores); the teardown would only free each module and collect
    garbage, about 20 ms, an eighth of a warm run. What is left in stdout's and stderr's
    buffers is flushed first; a reader that went away (`| head`) loses only that."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
