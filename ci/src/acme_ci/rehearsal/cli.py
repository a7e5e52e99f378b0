"""`acme-rehearse` (./pipeline.sh rehearse): the Dagger module's functions in local containers.

Exit codes: 0 every rehearsed call passed, 1 one failed, 2 this machine cannot rehearse (or
bad usage); the reason is printed.
"""

from __future__ import annotations

import argparse
import re
import signal
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path

import anyio

from acme_ci.rehearsal import functions, preflight
from acme_ci.rehearsal.functions import Outcome
from acme_ci.rehearsal.remote_cache_check import ci_twice_from_the_remote_cache
from acme_ci.rehearsal.session import Rehearsal, context_root, rehearsal, say
from acme_ci.rehearsal.shards_check import shards_and_verdict
from acme_ci.rehearsal.standins import describe_all

# The module's run summary: "24 steps: 24 passed in 301.2s (runner: dagger)".
STEPS_LINE = re.compile(r"^\d+ steps: ")
LIMITS_NOTE = (
    "rehearsal: the module's functions called through the function boundary, their queries "
    "run by podman on local stand-in images (not the real images, not BuildKit's cache)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acme-rehearse",
        description="Run the Dagger module's functions, unchanged, in local podman containers.",
    )
    parser.add_argument("-C", dest="directory", default=".", help="the repository (default: .)")
    parser.add_argument("--no-install", action="store_true", help="never apt-get install tools")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="run every exec again (default: reuse layers of earlier rehearsals, as the engine)",
    )
    sub = parser.add_subparsers(dest="function", required=True)
    ci = sub.add_parser("ci", help="dagger call ci")
    group = ci.add_mutually_exclusive_group()
    group.add_argument("--base", default="", metavar="REF")
    group.add_argument("--all", action="store_true")
    ci.add_argument("--jobs", type=int, default=2, help="steps at a time (default 2)")
    plan = sub.add_parser("plan", help="dagger call plan")
    group = plan.add_mutually_exclusive_group()
    group.add_argument("--base", default="", metavar="REF")
    group.add_argument("--all", action="store_true")
    for name in ("image", "serve"):
        p = sub.add_parser(name, help=f"dagger call {name}, then GET /readiness, /liveness, /")
        p.add_argument("service", nargs="*", help="service packages (default: every service)")
    sub.add_parser("maintenance", help="dagger call maintenance, then maintenance --cleanup")
    publish = sub.add_parser("publish", help="publish to a local registry, pull back, start")
    publish.add_argument("--version", default="rehearsal")
    sub.add_parser(
        "ci-cache",
        help="ci --all --cache-url twice against an S3 stand-in: the second all remote hits",
    )
    sub.add_parser(
        "shards",
        help="ci --all as 2 shards of one shard plan, then verdict, against an unsharded ci",
    )
    cd = sub.add_parser("cd", help="dagger call cd --rehearsal: ci, publish, maintenance, deploy")
    cd.add_argument("--version", default="rehearsal")
    sub.add_parser("check", help="dagger check: every function registered as a check")
    sub.add_parser("everything", help="every function above (ci --all first)")
    sub.add_parser(
        "phase", help="ci --all when this machine can, else say why (for ./pipeline.sh test)"
    )
    sub.add_parser("stand-ins", help="list the module's image references and their stand-ins")
    return parser


async def _calls(r: Rehearsal, args: argparse.Namespace) -> list[Outcome]:
    fn = "ci" if args.function == "phase" else args.function
    outcomes: list[Outcome] = []

    async def run(call: Awaitable[Outcome]) -> None:
        outcome = await call
        functions.print_outcome(outcome)
        outcomes.append(outcome)

    if fn == "ci":
        await run(
            functions.ci(
                r,
                getattr(args, "base", ""),
                args.function == "phase" or args.all,
                getattr(args, "jobs", 2),
            )
        )
    elif fn == "plan":
        await run(functions.plan(r, args.base, args.all))
    elif fn in ("image", "serve", "everything"):
        names = getattr(args, "service", None) or await functions.services_of(r)
        if fn == "everything":
            await run(functions.ci(r, "", True, 2))
            await run(ci_twice_from_the_remote_cache(r, 2))
            await run(shards_and_verdict(r, 2))
            await run(functions.plan(r, "HEAD~1", False))
            await run(functions.ci(r, "HEAD~1", False, 2))
        for name in names:
            if fn in ("image", "everything"):
                await run(functions.image(r, name))
            if fn in ("serve", "everything"):
                await run(functions.serve(r, name))
        if fn == "everything":
            await run(functions.maintenance(r))
            await run(functions.publish(r, "rehearsal"))
            await run(functions.cd(r, "rehearsal"))
            await run(functions.checks(r))
    elif fn == "maintenance":
        await run(functions.maintenance(r))
    elif fn == "publish":
        await run(functions.publish(r, args.version))
    elif fn == "ci-cache":
        await run(ci_twice_from_the_remote_cache(r, 2))
    elif fn == "shards":
        await run(shards_and_verdict(r, 2))
    elif fn == "cd":
        await run(functions.cd(r, args.version))
    elif fn == "check":
        await run(functions.checks(r))
    return outcomes


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.function == "stand-ins":
        print("\n".join(describe_all()))
        return 0
    ready = preflight.check(install=not args.no_install, say=say)
    if not ready.ok:
        print(f"rehearsal: skipped: {ready.reason}", flush=True)
        return 2
    try:
        root = context_root(Path(args.directory).resolve())
    except FileNotFoundError as error:
        print(f"rehearsal: {error}", flush=True)
        return 2
    started = time.monotonic()
    say(LIMITS_NOTE)

    async def go() -> list[Outcome]:
        async with rehearsal(root, fresh=args.fresh) as r:
            outcomes = await _calls(r, args)
            built = ", ".join(f"{a} {s:.0f}s" for a, s in r.images.built.items())
            say(f"rehearsal: stand-ins built: {built or 'none'}; reused: {len(r.images.reused)}")
            evaluator = r.evaluator
            say(
                f"rehearsal: {evaluator.execs.started} execs run, {evaluator.layers.reused} "
                "layers reused from earlier rehearsals"
            )
            boundary = r.boundary
            say(
                f"rehearsal: {boundary.calls} module function calls (constructors too), "
                f"{boundary.replayed} replayed "
                f"from the function cache; {boundary.sessions} sessions, "
                f"{boundary.services_stopped} services stopped at their session's end"
            )
            for note in sorted(evaluator.services.dropped_notes):
                print(f"rehearsal: not rehearsed: {note}", flush=True)
            return outcomes

    # SIGTERM (a CI runner's cancel, `timeout`) unwinds like Ctrl-C: containers, networks and
    # services this rehearsal started are removed on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        outcomes = anyio.run(go)
    except KeyboardInterrupt:
        print("== rehearsal: interrupted ==", flush=True)
        return 1
    print(closing_line(outcomes, time.monotonic() - started), flush=True)
    return 0 if all(o.ok for o in outcomes) else 1


def closing_line(outcomes: Sequence[Outcome], seconds: float) -> str:
    """`== rehearsal: N passed, N failed in Xs ==`, with the step count of a single `ci`."""
    passed = sum(o.ok for o in outcomes)
    failed = [o.name for o in outcomes if not o.ok]
    steps = [line for o in outcomes for line in o.lines if STEPS_LINE.match(line)]
    detail = f" ({steps[0].split(' (runner')[0]})" if len(outcomes) == 1 and steps else ""
    failures = f"; failed: {', '.join(failed)}" if failed else ""
    return (
        f"== rehearsal: {passed} passed, {len(failed)} failed{detail} in {seconds:.1f}s"
        f"{failures} =="
    )
