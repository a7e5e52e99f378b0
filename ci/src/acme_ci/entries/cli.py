"""The shared store's reads and writes the Dagger shell runs INSIDE a container.

`python -m acme_ci.entries.cli ACTION --scope SCOPE... --dir DIR [...]` in the module
package's container (it has boto3). The Dagger shell builds the exec, passes the cache URL
and the credentials as secret variables (ACME_CACHE_URL, AWS_*, ACME_CACHE_SIGNING_KEY),
puts any input under DIR and reads the answer from a JSON file under DIR (the names below).
Nothing here imports dagger, so it runs wherever acme-ci is installed.

fetch --key KEY: the first usable entry among the scopes, in order, unpacked to DIR/entry
(entry.json + outputs/); DIR/status.json says hit or miss, and why an entry was not used
(bad or missing signature, damaged content). store --key KEY: DIR/meta.json and
DIR/outputs/ packed as the native cache packs an entry, one PUT with its digest and
signature; DIR/stored.json says the bytes sent or why nothing was.

put-report --run-id ID --attempt A: DIR/report.json, a shard report, stored under the run
(acme_ci.entries.shard_store). get-reports --run-id ID --attempt A --shard K/N...: each
shard's newest report, with why one is not used. put-history: DIR/history.json stored as
the scope's history; get-history: the first usable one among the scopes.

Every action exits 0 whatever the store does: its answer carries any fault, and the shell
decides (a step cache or history fault never fails a run; a report that was not stored
fails its shard).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acme_ci.core.entry_format import OUTPUTS_DIR
from acme_ci.core.remote_cache import RemoteLocation, entry_problem, parse_cache_url
from acme_ci.core.shard_history import history_document, history_from_document
from acme_ci.core.shard_report import report_document, report_from_document
from acme_ci.core.shards import parse_shard
from acme_ci.entries import CorruptEntryError
from acme_ci.entries.archive import pack, unpack
from acme_ci.entries.directory import read_meta, write_entry_file
from acme_ci.entries.s3 import get_entry, put_entry, s3_client
from acme_ci.entries.shard_store import (
    RunIdentity,
    get_history,
    get_reports,
    put_history,
    put_report,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Under DIR: what the Dagger shell mounts before an action, and the answer each writes.
META_FILE = "meta.json"
REPORT_FILE = "report.json"
HISTORY_FILE = "history.json"
FETCHED_DIR = "entry"
STATUS_FILE = "status.json"
STORED_FILE = "stored.json"
ANSWER_FILES = {
    "fetch": STATUS_FILE,
    "store": STORED_FILE,
    "put-report": "report-stored.json",
    "get-reports": "reports.json",
    "put-history": "history-stored.json",
    "get-history": "history-found.json",
}


def signing_key() -> bytes | None:
    key = os.environ.get("ACME_CACHE_SIGNING_KEY")
    return key.encode() if key else None


def fetch(
    s3: S3Client, location: RemoteLocation, key: str, scopes: Sequence[str], into: Path
) -> dict[str, Any]:
    """Look `key` up in `scopes`, in order; unpack the first usable entry to `into`/entry."""
    problems: list[str] = []
    secret = signing_key()
    for scope in scopes:
        try:
            found = get_entry(s3, location, scope, key)
        except Exception as error:  # a miss is None; anything else ends the lookup
            return _miss(problems, f"lookup failed: {type(error).__name__}: {error}")
        if found is None:
            continue
        content, metadata = found
        problem = entry_problem(key, content, metadata, secret)
        if problem is None:
            meta, problem = _unpack(content, into / FETCHED_DIR)
            if meta is not None:
                return {
                    "hit": True,
                    "scope": scope,
                    "meta": meta,
                    "bytes": len(content),
                    "problems": problems,
                    "skipped": None,
                }
        problems.append(f"entry in scope {scope!r} not used: {problem}")
    return _miss(problems, None)


def _miss(problems: list[str], skipped: str | None) -> dict[str, Any]:
    return {"hit": False, "problems": problems, "skipped": skipped}


def _unpack(content: bytes, target: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The entry's metadata once unpacked and checked, or why it cannot be used."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    try:
        unpack(content, target)
        return read_meta(target), None
    except CorruptEntryError as error:
        return None, str(error)


def _packed(meta: dict[str, Any], outputs: Path, staging: Path) -> bytes:
    """The entry as the native cache packs it: entry.json and outputs/, gzipped tar."""
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if outputs.is_dir():
        shutil.copytree(outputs, staging / OUTPUTS_DIR)
    else:
        (staging / OUTPUTS_DIR).mkdir()
    write_entry_file(staging, meta)
    return pack(staging)


def store(
    s3: S3Client, location: RemoteLocation, key: str, scope: str, directory: Path
) -> dict[str, Any]:
    """Pack DIR/meta.json and DIR/outputs and PUT it under `scope`."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        content = _packed(meta, directory / OUTPUTS_DIR, directory / "staging")
        put_entry(s3, location, scope, key, content, signing_key())
    except Exception as error:  # any store failure is reported, never raised
        return {"bytes": 0, "problem": f"store failed: {type(error).__name__}: {error}"}
    return {"bytes": len(content), "problem": None}


def store_report(
    s3: S3Client, location: RemoteLocation, scope: str, identity: RunIdentity, directory: Path
) -> dict[str, Any]:
    """Store DIR/report.json under the run; its object key, or why it was not stored."""
    try:
        document = json.loads((directory / REPORT_FILE).read_text(encoding="utf-8"))
        key = put_report(
            s3, location, scope, identity, report_from_document(document), signing_key()
        )
    except Exception as error:  # reported: the shard's call fails, saying why
        return {"key": None, "problem": f"{type(error).__name__}: {error}"}
    return {"key": key, "problem": None}


def fetch_reports(
    s3: S3Client,
    location: RemoteLocation,
    scope: str,
    identity: RunIdentity,
    shards: Sequence[str],
) -> dict[str, Any]:
    """Each shard's newest report (as its document), and why a shard's is not used."""
    reports, problems = get_reports(
        s3, location, scope, identity, [parse_shard(s) for s in shards], signing_key()
    )
    return {
        "reports": [report_document(r) for r in reports],
        "problems": {str(shard): problem for shard, problem in problems.items()},
    }


def store_history(
    s3: S3Client, location: RemoteLocation, scope: str, directory: Path
) -> dict[str, Any]:
    """Store DIR/history.json as the scope's history; its object key, or why not."""
    try:
        document = json.loads((directory / HISTORY_FILE).read_text(encoding="utf-8"))
        key = put_history(s3, location, scope, history_from_document(document), signing_key())
    except Exception as error:  # reported: history only balances shards, it fails nothing
        return {"key": None, "problem": f"{type(error).__name__}: {error}"}
    return {"key": key, "problem": None}


def fetch_history(s3: S3Client, location: RemoteLocation, scopes: Sequence[str]) -> dict[str, Any]:
    """The first usable history among the scopes (None: none), and why one was not used."""
    try:
        history, scope, problems = get_history(s3, location, scopes, signing_key())
    except Exception as error:  # reported: without history, the plan uses the prior
        return {"history": None, "scope": None, "problems": [f"{type(error).__name__}: {error}"]}
    document = None if history is None else history_document(history)
    return {"history": document, "scope": scope, "problems": problems}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acme_ci.entries.cli")
    parser.add_argument("action", choices=tuple(ANSWER_FILES))
    parser.add_argument("--key", help="the step's cache key (fetch, store)")
    parser.add_argument("--scope", action="append", required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--run-id", help="the run of the shard reports")
    parser.add_argument("--attempt", type=int, default=1, help="the run's attempt")
    parser.add_argument("--shard", action="append", default=[], help="K/N (get-reports)")
    args = parser.parse_args(argv)
    if args.action in ("fetch", "store") and not args.key:
        parser.error(f"{args.action} needs --key")
    if args.action in ("put-report", "get-reports") and not args.run_id:
        parser.error(f"{args.action} needs --run-id")
    location = parse_cache_url(os.environ.get("ACME_CACHE_URL", ""))
    args.dir.mkdir(parents=True, exist_ok=True)
    answer = _answer(args, s3_client(), location)
    (args.dir / ANSWER_FILES[args.action]).write_text(json.dumps(answer), encoding="utf-8")
    print(json.dumps(answer))
    return 0


def _answer(args: argparse.Namespace, s3: S3Client, location: RemoteLocation) -> dict[str, Any]:
    identity = RunIdentity(args.run_id or "", args.attempt)
    scope = args.scope[0]
    if args.action == "fetch":
        return fetch(s3, location, args.key, args.scope, args.dir)
    if args.action == "store":
        return store(s3, location, args.key, scope, args.dir)
    if args.action == "put-report":
        return store_report(s3, location, scope, identity, args.dir)
    if args.action == "get-reports":
        return fetch_reports(s3, location, scope, identity, args.shard)
    if args.action == "put-history":
        return store_history(s3, location, scope, args.dir)
    return fetch_history(s3, location, args.scope)


if __name__ == "__main__":
    sys.exit(main())
