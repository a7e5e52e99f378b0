"""What `dagger call plan` prints: the plan, or with --shards how a sharded run cuts it."""

from __future__ import annotations

import dagger

from acme_ci.core.affected import Selection
from acme_ci.core.plan import make_plan
from acme_ci.core.plan_format import plan_json, plan_text
from acme_ci.core.shard_plan_format import github_matrix, shard_plan_json, shard_plan_text
from acme_ci.core.shards import TARGET_SHARD_SECONDS, parse_shard_count
from acme_ci.core.workspace import Workspace
from acme_ci.dagger.cache_options import CacheOptions
from acme_ci.dagger.sharding import cut_shard_plan, shard_store

FORMATS = ("text", "json", "github-matrix")


class PlanFormatError(ValueError):
    """A --format `plan` does not print (or not without --shards)."""


async def plan_output(
    source: dagger.Directory,
    ws: Workspace,
    selection: Selection,
    shards: str,
    format_: str,
    cache: CacheOptions | None,
) -> str:
    """The plan of `selection` as `format_`; with `shards` (N or auto), its shards, cut by
    the history in the remote cache of `cache` (none without one: the first-run prior)."""
    if format_ not in FORMATS:
        raise PlanFormatError(f"--format {format_!r}: expected one of {', '.join(FORMATS)}")
    if not shards:
        if format_ == "github-matrix":
            raise PlanFormatError("--format github-matrix: only with --shards N|auto")
        plan = make_plan(ws, selection)
        return plan_text(plan) if format_ == "text" else plan_json(plan)
    count = parse_shard_count(shards)
    store = await shard_store(source, ws, cache)
    cut, notes = await cut_shard_plan(source, ws, selection, count, TARGET_SHARD_SECONDS, store)
    if format_ == "json":
        return shard_plan_json(cut)
    if format_ == "github-matrix":
        return github_matrix(cut)
    return "\n".join([shard_plan_text(cut), *(f"warning: {note}" for note in notes)])
