"""`acme-ci ci`: lint, test and build the affected packages, cached, in parallel; with
`--shard K/N`, one shard of them (acme_ci.native.commands.ci_shard)."""

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

SHARD_ONLY = ("shard_plan", "shard_target", "shard_report_dir", "run_id")


def run(args: argparse.Namespace) -> int:
    if args.shard is not None:
        return _run_shard(args)
    stray = [f"--{name.replace('_', '-')}" for name in SHARD_ONLY if getattr(args, name)]
    if stray:
        return usage_error(ValueError(f"{', '.join(stray)}: only with --shard K/N"))
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


def _run_shard(args: argparse.Namespace) -> int:
    # Imported here: an unsharded run never loads the sharding modules.
    from acme_ci.core.shards import ShardError
    from acme_ci.native.commands.ci_shard import run_shard

    try:
        root, ws = load(args)
        return run_shard(args, root, ws)
    except (*USAGE_ERRORS, ShardError) as error:
        return usage_error(error)
