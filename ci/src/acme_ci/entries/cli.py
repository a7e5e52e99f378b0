"""The remote step cache's lookup and store, run INSIDE a container by the Dagger shell.

`python -m acme_ci.entries.cli fetch|store --key KEY --scope SCOPE... --dir DIR`
in the module package's container (it has boto3). The Dagger shell never imports this
module: it builds the exec, passes the credentials as secret variables (AWS_*,
ACME_CACHE_SIGNING_KEY) and reads the answer from a JSON file under DIR. Nothing here
imports dagger, so it runs wherever acme-ci is installed.

fetch: the first usable entry among the scopes, in order, unpacked to DIR/entry
(entry.json + outputs/); DIR/status.json says hit or miss, and why an entry was not used
(bad or missing signature, damaged content). store: DIR/meta.json and DIR/outputs/ packed
as the native cache packs an entry, one PUT with its digest and signature; DIR/stored.json
says the bytes sent or why nothing was. Both exit 0 whatever the store does: a cache fault
never fails a run, the answer carries it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acme_ci.core.entry_format import (
    ENTRY_FILE,
    OUTPUTS_DIR,
    archive_member_problem,
    checksum_problem,
    entry_document,
)
from acme_ci.core.remote_cache import (
    RemoteLocation,
    entry_metadata,
    entry_problem,
    parse_cache_url,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

STATUS_FILE = "status.json"
STORED_FILE = "stored.json"
META_FILE = "meta.json"
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0


def client() -> S3Client:
    """boto3's S3 client from its own configuration (AWS_* variables), with timeouts."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    return boto3.session.Session().client("s3", config=config)


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
            answer = s3.get_object(Bucket=location.bucket, Key=location.object_key(scope, key))
            content = answer["Body"].read()
            metadata = dict(answer.get("Metadata", {}))
        except Exception as error:  # a miss is normal; anything else ends the lookup
            if _is_missing(error):
                continue
            return _miss(problems, f"lookup failed: {type(error).__name__}: {error}")
        problem = entry_problem(key, content, metadata, secret)
        if problem is None:
            meta, problem = _unpack(content, into / "entry")
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
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as tar:
            _extract(tar, target)
        document = json.loads((target / ENTRY_FILE).read_text(encoding="utf-8"))
    except (tarfile.TarError, OSError, EOFError, ValueError) as error:
        return None, f"unreadable archive ({error})"
    problem = checksum_problem(document, _files(target / OUTPUTS_DIR))
    if problem is not None:
        return None, problem
    return dict(document["meta"]), None


def _extract(tar: tarfile.TarFile, target: Path) -> None:
    """Extract with the "data" filter: no absolute paths, no escaping names, no links.

    Python before 3.11.4 has no extraction filters (Debian bookworm's 3.11.2 in the
    rehearsal's stand-in images): there, only plain files and directories under relative,
    non-escaping names are accepted, anything else refuses the whole entry.
    """
    if hasattr(tarfile, "data_filter"):
        tar.extractall(target, filter="data")
        return
    for member in tar.getmembers():
        problem = archive_member_problem(member.name, member.isfile() or member.isdir())
        if problem is not None:
            raise tarfile.TarError(problem)
    tar.extractall(target)  # members checked above, as the "data" filter would


def _files(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def pack(meta: dict[str, Any], outputs: Path, staging: Path) -> bytes:
    """The entry as the native cache packs it: entry.json and outputs/, gzipped tar."""
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    if outputs.is_dir():
        shutil.copytree(outputs, staging / OUTPUTS_DIR)
    else:
        (staging / OUTPUTS_DIR).mkdir()
    document = entry_document(meta, _files(staging / OUTPUTS_DIR))
    (staging / ENTRY_FILE).write_text(json.dumps(document), encoding="utf-8")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
        tar.add(staging, arcname=".")
    return buffer.getvalue()


def store(
    s3: S3Client, location: RemoteLocation, key: str, scope: str, directory: Path
) -> dict[str, Any]:
    """Pack DIR/meta.json and DIR/outputs and PUT it under `scope`."""
    try:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        content = pack(meta, directory / OUTPUTS_DIR, directory / "staging")
        s3.put_object(
            Bucket=location.bucket,
            Key=location.object_key(scope, key),
            Body=content,
            Metadata=entry_metadata(key, content, signing_key()),
        )
    except Exception as error:  # any store failure is reported, never raised
        return {"bytes": 0, "problem": f"store failed: {type(error).__name__}: {error}"}
    return {"bytes": len(content), "problem": None}


def _is_missing(error: Exception) -> bool:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    return str(response.get("Error", {}).get("Code", "")) in ("NoSuchKey", "404", "NotFound")


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
        answer = fetch(client(), location, args.key, args.scope, args.dir)
        name = STATUS_FILE
    else:
        answer = store(client(), location, args.key, args.scope[0], args.dir)
        name = STORED_FILE
    (args.dir / name).write_text(json.dumps(answer), encoding="utf-8")
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
