"""Shard reports and the run history in the shared store, on Dagger: each read or write an
exec of the entries CLI (`python -m acme_ci.entries.cli put-report|get-reports|...`) in the
module package's container, with the store's secrets and an input unique to the call, as
the step cache's lookups are (acme_ci.dagger.remote_cache). The objects, their names and
their signatures are acme_ci.entries.shard_store's, the native shell's too.

Reports go to the scope this run writes (its branch), or, read-only, come from the first it
reads: the shards and the verdict of one run are given the same scope flags, so they meet
in one scope.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagger

from acme_ci.core.shard_history import history_document, history_from_document
from acme_ci.core.shard_report import ShardReport, report_document, report_from_document
from acme_ci.core.shards import History, ShardId, parse_shard
from acme_ci.dagger.cache_options import CacheOptions
from acme_ci.dagger.remote_cache import CACHE_DIR, CLI, store_access
from acme_ci.entries import cli as entries_cli
from acme_ci.entries.shard_store import RunIdentity


class ShardStoreError(Exception):
    """A shard report could not be stored: its shard has not reported."""


@dataclass(frozen=True)
class ShardStore:
    """The shared store of `options`, reached from `tool` (the module package's container)."""

    tool: dagger.Container
    options: CacheOptions

    @property
    def report_scope(self) -> str:
        """Where this run's shard reports are: the scope it writes, else the first it reads."""
        policy = self.options.policy()
        return policy.write if policy.write is not None else policy.read[0]

    async def _answer(
        self, action: str, arguments: Sequence[str], inputs: dict[str, str] | None = None
    ) -> Any:
        """Run `action` of the entries CLI with `inputs` (files under its directory) and
        read its answer; dagger.QueryError when the exec itself fails."""
        ctr = store_access(self.tool, self.options)
        for name, text in (inputs or {}).items():
            ctr = ctr.with_new_file(f"{CACHE_DIR}/{name}", text)
        argv = ["python", "-m", CLI, action, *arguments, "--dir", CACHE_DIR]
        answer = ctr.with_exec(argv).file(f"{CACHE_DIR}/{entries_cli.ANSWER_FILES[action]}")
        return json.loads(await answer.contents())

    async def put_report(self, identity: RunIdentity, report: ShardReport) -> str:
        """Store the shard's report under the run; its object key. ShardStoreError, saying
        why, when it was not stored."""
        arguments = ["--scope", self.report_scope, *_run(identity)]
        inputs = {entries_cli.REPORT_FILE: json.dumps(report_document(report))}
        try:
            stored = await self._answer("put-report", arguments, inputs)
        except dagger.QueryError as error:
            raise ShardStoreError(f"shard {report.shard}: report NOT stored ({error})") from None
        if stored.get("problem") or not stored.get("key"):
            raise ShardStoreError(
                f"shard {report.shard}: report NOT stored ({stored.get('problem')})"
            )
        return str(stored["key"])

    async def get_reports(
        self, identity: RunIdentity, shards: Sequence[ShardId]
    ) -> tuple[list[ShardReport], dict[ShardId, str]]:
        """Each shard's newest report of the run, and, by shard, why one is not used (a
        store that cannot be read leaves every shard without one, saying why)."""
        arguments = ["--scope", self.report_scope, *_run(identity)]
        arguments += [arg for shard in shards for arg in ("--shard", str(shard))]
        try:
            found = await self._answer("get-reports", arguments)
            reports = [report_from_document(document) for document in found["reports"]]
            problems = {parse_shard(k): str(v) for k, v in found["problems"].items()}
        except (dagger.QueryError, ValueError, KeyError, TypeError, AttributeError) as error:
            why = f"the shard reports could not be read ({type(error).__name__}: {error})"
            return [], {shard: why for shard in shards}
        return reports, problems

    async def get_history(self) -> tuple[History | None, list[str]]:
        """The first usable history among the scopes this run reads (None: none yet), and
        what the summary should say (a history that could not be read, or was refused)."""
        scopes = [arg for scope in self.options.policy().read for arg in ("--scope", scope)]
        try:
            found = await self._answer("get-history", scopes)
            notes = [f"history: {problem}" for problem in found["problems"]]
            document = found["history"]
            return (None if document is None else history_from_document(document)), notes
        except (dagger.QueryError, ValueError, KeyError, TypeError, AttributeError) as error:
            return None, [f"history: not read ({type(error).__name__}: {error})"]

    async def put_history(self, history: History) -> str | None:
        """Store `history` as the written scope's; what the summary should say when it was
        not (None: stored, or this run writes no scope)."""
        scope = self.options.policy().write
        if scope is None:
            return None
        inputs = {entries_cli.HISTORY_FILE: json.dumps(history_document(history))}
        try:
            stored = await self._answer("put-history", ["--scope", scope], inputs)
        except dagger.QueryError as error:
            return f"history: not stored ({error})"
        problem = stored.get("problem") if isinstance(stored, dict) else "no answer"
        return None if not problem else f"history: not stored ({problem})"


def _run(identity: RunIdentity) -> list[str]:
    return ["--run-id", identity.run_id, "--attempt", str(identity.attempt)]
