"""`acme-ci plan`: what `ci` would run and why, without running anything; with `--shards`,
how a sharded run cuts it (acme_ci.core.shards)."""

from __future__ import annotations

import argparse

from acme_ci.core.plan_format import plan_json, plan_mermaid, plan_text
from acme_ci.native.commands.common import USAGE_ERRORS, load, request_from, usage_error
from acme_ci.native.runner import plan_for

RENDERERS = {"text": plan_text, "json": plan_json, "mermaid": plan_mermaid}


def run(args: argparse.Namespace) -> int:
    if args.shards is not None:
        return _run_sharded(args)
    if args.format == "github-matrix" or args.shard_target is not None:
        flag = "--format github-matrix" if args.format == "github-matrix" else "--shard-target"
        return usage_error(ValueError(f"{flag}: only with --shards N|auto"))
    try:
        root, ws = load(args)
        plan = plan_for(root, ws, request_from(args))
    except USAGE_ERRORS as error:
        return usage_error(error)
    print(RENDERERS[args.format](plan))
    return 0


def _run_sharded(args: argparse.Namespace) -> int:
    """The plan cut into shards: text, the JSON every shard runs from, or a GitHub matrix."""
    # Imported here: an unsharded plan never loads the sharding modules.
    from acme_ci.core.shard_plan_format import github_matrix, shard_plan_json, shard_plan_text
    from acme_ci.core.shards import TARGET_SHARD_SECONDS, ShardError, parse_shard_count
    from acme_ci.native.sharding import shard_plan_for

    try:
        root, ws = load(args)
        shards = shard_plan_for(
            root,
            ws,
            request_from(args),
            count=parse_shard_count(args.shards),
            target=args.shard_target or TARGET_SHARD_SECONDS,
        )
    except (*USAGE_ERRORS, ShardError) as error:
        return usage_error(error)
    if args.format == "mermaid":
        print(plan_mermaid(shards.plan))
    else:
        render = {"text": shard_plan_text, "json": shard_plan_json, "github-matrix": github_matrix}
        print(render[args.format](shards))
    return 0
