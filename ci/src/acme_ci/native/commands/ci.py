"""`acme-ci ci`: lint, test and build the affected packages, cached, in parallel."""

from __future__ import annotations

import argparse

from acme_ci.native.commands.common import (
    USAGE_ERRORS,
    finish,
    load,
    remote_settings,
    request_from,
    run_with_flags,
    usage_error,
)
from acme_ci.native.runner import plan_for
from acme_ci.native.runner_choice import choose_runner, run_on_dagger


def run(args: argparse.Namespace) -> int:
    try:
        root, ws = load(args)
        unsupported = "the Dagger module has no --package selection" if args.package else None
        choice = choose_runner(args.runner, unsupported=unsupported)
        print(f"runner: {choice.name} ({choice.why})", flush=True)
        if choice.name == "dagger":
            flags = ["--jobs", str(args.jobs), *(["--base", args.base] if args.base else [])]
            return run_on_dagger(root, "ci", [*flags, *(["--all"] if args.all else [])])
        plan = plan_for(root, ws, request_from(args))
        remote = remote_settings(args, root)
        if remote is not None:
            print(f"remote cache: {remote.url} ({remote.policy().describe()})", flush=True)
    except USAGE_ERRORS as error:
        return usage_error(error)
    print(f"selection: {plan.selection.note}; {len(plan.steps)} steps", flush=True)
    result = run_with_flags(root, plan, args, remote)
    return finish(result, args.report, "acme-ci ci")
