"""The remote step cache's lookup and store, run INSIDE a container by the Dagger shell.

`python -m acme_ci.entries.cli fetch|store --key KEY --scope SCOPE... --dir DIR`
in the module package's container (it has boto3). The Dagger shell builds the exec, passes
the cache URL and the credentials as secret variables (ACME_CACHE_URL, AWS_*,
ACME_CACHE_SIGNING_KEY) and reads the answer from a JSON file under DIR (the names below).
Nothing here imports dagger, so it runs wherever acme-ci is installed.

fetch: the first usable entry among the scopes, in order, unpacked to DIR/entry
(entry.json + outputs/); DIR/status.json says hit or miss, and why an entry was not used
(bad or missing signature, damaged content). store: DIR/meta.json and DIR/outputs/ packed
as the native cache packs an entry, one PUT with its digest and signature; DIR/stored.json
says the bytes sent or why nothing was. Both exit 0 whatever the store does: a cache fault
never fails a run, the answer carries it.
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
from acme_ci.entries import CorruptEntryError
from acme_ci.entries.archive import pack, unpack
from acme_ci.entries.directory import read_meta, write_entry_file
from acme_ci.entries.s3 import get_entry, put_entry, s3_client

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Under DIR: what the Dagger shell mounts before a store, and reads after either action.
META_FILE = "meta.json"
FETCHED_DIR = "entry"
STATUS_FILE = "status.json"
STORED_FILE = "stored.json"


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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m acme_ci.entries.cli")
    parser.add_argument("action", choices=("fetch", "store"))
    parser.add_argument("--key", required=True)
    parser.add_argument("--scope", action="append", required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    location = parse_cache_url(os.environ.get("ACME_CACHE_URL", ""))
    args.dir.mkdir(parents=True, exist_ok=True)
    if args.action == "fetch":
        answer = fetch(s3_client(), location, args.key, args.scope, args.dir)
        name = STATUS_FILE
    else:
        answer = store(s3_client(), location, args.key, args.scope[0], args.dir)
        name = STORED_FILE
    (args.dir / name).write_text(json.dumps(answer), encoding="utf-8")
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
