"""A sharded run rehearsed: `plan --all --shards 2 --format json`, `ci --all --shard 1/2` and
`2/2` from that one shard plan, `verdict`, then `ci --all` unsharded; the sharded and the
unsharded run must select the same steps and reach the same verdicts.

Every call crosses the function boundary, each a session of its own, with the remote cache
at the moto stand-in `ci-cache` starts (acme_ci.rehearsal.remote_cache_check): the shards
store their reports there and the verdict reads them back, so the module's put-report and
get-reports execs run for real. The unsharded `ci` runs without the cache, so each of its
steps runs (from the layers the shards left, as the engine would reuse them) and its
verdicts are its own, not the cache's.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Mapping

import anyio

from acme_ci.rehearsal.functions import Outcome, result_lines, timed
from acme_ci.rehearsal.remote_cache_check import (
    REGION,
    SECRET_ENV,
    cache_flags,
    environment,
    s3_stand_in,
)
from acme_ci.rehearsal.session import Rehearsal

SHARDS = 2
# A row of the summary's table: the step, then its status.
_ROW = re.compile(r"^  (\S+)  +(passed|failed|cached|blocked)\b")


def step_statuses(summary: str) -> dict[str, str]:
    """Each step's status in a run summary's table (what `ci` and `verdict` print)."""
    table = summary.split("\nSummary\n", 1)[-1].split("\n\n", 1)[0]
    return {m.group(1): m.group(2) for m in map(_ROW.match, table.splitlines()) if m}


def compared(sharded: Mapping[str, str], alone: Mapping[str, str]) -> list[str]:
    """Where the verdict of the sharded run differs from the unsharded run's (none: []). A
    step the cache answered passed as one that ran."""

    def verdict(status: str) -> str:
        return "passed" if status == "cached" else status

    differences = [f"only sharded: {s}" for s in sorted(set(sharded) - set(alone))]
    differences += [f"only unsharded: {s}" for s in sorted(set(alone) - set(sharded))]
    differences += [
        f"{s}: {sharded[s]} sharded, {alone[s]} unsharded"
        for s in sorted(set(sharded) & set(alone))
        if verdict(sharded[s]) != verdict(alone[s])
    ]
    return differences


async def shards_and_verdict(r: Rehearsal, jobs: int) -> Outcome:
    """Two shards of `ci --all`, their verdict, and the unsharded run they must equal."""

    async def body() -> tuple[bool, list[str]]:
        ci = (await r.boundary.module()).main.functions["ci"]
        lines: list[str] = []
        run = ["--run-id", f"rehearsal-{uuid.uuid4().hex[:8]}"]
        async with s3_stand_in(r) as endpoint:
            store = [
                *cache_flags(ci), "--cache-scope", "main",
                "--cache-endpoint-url", endpoint, "--cache-region", REGION,
            ]  # fmt: skip
            with environment(SECRET_ENV), tempfile.TemporaryDirectory() as scratch:
                planned = await r.boundary.call(
                    ["plan", "--all", "--shards", str(SHARDS), "--format", "json", *store]
                )
                if not planned.ok:
                    return False, ["plan: FAILED", *(f"  | {x}" for x in result_lines(planned))]
                path = anyio.Path(scratch, "shard-plan.json")
                await path.write_text(str(planned.value), encoding="utf-8")
                lines.append(f"plan --shards {SHARDS}: passed")
                for index in range(1, SHARDS + 1):
                    shard = f"{index}/{SHARDS}"
                    argv = ["ci", "--all", "--shard", shard, "--shard-plan", str(path), *run]
                    done = await r.boundary.call([*argv, "--jobs", str(jobs), *store])
                    stored = [x for x in result_lines(done) if "report stored as" in x]
                    lines.append(f"ci --shard {shard}: {_word(done.ok)}")
                    lines += [f"  | {x}" for x in (stored if done.ok else result_lines(done))]
                judged = await r.boundary.call(
                    ["verdict", "--all", "--shard-plan", str(path), *run, *store]
                )
        alone = await r.boundary.call(["ci", "--all", "--jobs", str(jobs)])
        verdict_text = str(judged.value if judged.ok else judged.error)
        alone_text = str(alone.value if alone.ok else alone.error)
        lines += ["verdict:", *(f"  | {x}" for x in verdict_text.splitlines())]
        lines.append(f"ci --all (unsharded): {_word(alone.ok)}")
        sharded, unsharded = step_statuses(verdict_text), step_statuses(alone_text)
        differences = compared(sharded, unsharded)
        same = bool(sharded) and not differences and judged.ok == alone.ok
        lines.append(
            f"same steps and verdicts as the unsharded run: {'yes' if same else 'NO'} "
            f"({len(sharded)} steps sharded, {len(unsharded)} unsharded; verdict "
            f"{_word(judged.ok)}, unsharded {_word(alone.ok)})"
        )
        lines += [f"  differs: {d}" for d in differences]
        return same and judged.ok, lines

    return await timed(f"ci --all in {SHARDS} shards, verdict, and unsharded", body)


def _word(ok: bool) -> str:
    return "passed" if ok else "FAILED"
