"""Real servers for the integration tests of this package and of acme-maintenance.

PostgreSQL: ``TEST_POSTGRES_URL`` (any server, any database), else a throwaway cluster
started with ``initdb``/``pg_ctl`` found on PATH or in ``/usr/lib/postgresql/*/bin`` (as
the ``postgres`` user when running as root) on a free 127.0.0.1 port. When the run was
told PostgreSQL is there (``TEST_POSTGRES_URL`` set, or ``ACME_REQUIRE_POSTGRES=1``), a
missing or failing PostgreSQL is a failure, not a skip.

S3: ``TEST_S3_ENDPOINT_URL`` (with ``TEST_AWS_ACCESS_KEY_ID`` and
``TEST_AWS_SECRET_ACCESS_KEY``, default ``testing``), else a moto server started in
process on 127.0.0.1. Tests make their own uniquely named buckets and schemas and remove
them, so a shared server stays clean.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import boto3

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_TRUE = frozenset({"1", "true", "yes"})


class ServerUnavailableError(Exception):
    """No server of this kind can be used here; the message says why."""


def postgres_required(env: Mapping[str, str]) -> bool:
    """True when the run was told PostgreSQL is available, so tests must not skip."""
    return bool(env.get("TEST_POSTGRES_URL")) or env.get("ACME_REQUIRE_POSTGRES", "") in _TRUE


DEBIAN_POSTGRES_BINS = "/usr/lib/postgresql/*/bin"


def find_postgres_tool(name: str, versioned: str = DEBIAN_POSTGRES_BINS) -> str | None:
    """``name`` on PATH, else in the newest versioned directory (Debian keeps it there)."""
    found = shutil.which(name)
    if found:
        return found

    def version(path: str) -> int:
        number = Path(path).parent.parent.name
        return int(number) if number.isdigit() else -1

    candidates = [path for path in glob.glob(f"{versioned}/{name}") if os.access(path, os.X_OK)]
    return max(candidates, key=version) if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    # runuser lives in sbin, which a non-login root PATH may leave out.
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if runuser is None:
        raise ServerUnavailableError(
            "running as root and runuser is missing: PostgreSQL refuses root"
        )
    return [runuser, "-u", "postgres", "--", *argv]


@contextmanager
def postgres_server(env: Mapping[str, str]) -> Iterator[str]:
    """The URL of a PostgreSQL server: TEST_POSTGRES_URL, else a throwaway cluster."""
    external = env.get("TEST_POSTGRES_URL")
    if external:
        yield external
        return
    initdb, pg_ctl = find_postgres_tool("initdb"), find_postgres_tool("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise ServerUnavailableError(
            "no TEST_POSTGRES_URL, and no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin"
        )
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailableError(
                "running as root without a postgres user: PostgreSQL refuses root"
            ) from None
    base = Path(tempfile.mkdtemp(prefix="acme-pg-"))
    data = base / "data"
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = _free_port()
    try:
        subprocess.run(
            _as_postgres([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )
        options = f"-h 127.0.0.1 -p {port} -k {base} -c fsync=off"
        subprocess.run(
            _as_postgres(
                [pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"]
            ),
            check=True,
            capture_output=True,
        )
    except subprocess.CalledProcessError as error:
        shutil.rmtree(base, ignore_errors=True)
        output = (error.stderr or b"").decode(errors="replace").strip()
        raise ServerUnavailableError(f"{error.cmd[-1]} failed: {output}") from error
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def with_search_path(url: str, schema: str) -> str:
    """``url`` whose sessions resolve unqualified names in ``schema`` first."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def unique_name(prefix: str) -> str:
    """A bucket- and schema-safe name no other test run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class S3Endpoint:
    """An S3 endpoint and the keys it accepts."""

    url: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"

    def client(self) -> S3Client:
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def env(self, bucket: str) -> dict[str, str]:
        """The variables maintenance reads to use ``bucket`` on this endpoint."""
        return {
            "S3_ENDPOINT_URL": self.url,
            "S3_BUCKET": bucket,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
        }


@contextmanager
def s3_server(env: Mapping[str, str]) -> Iterator[S3Endpoint]:
    """TEST_S3_ENDPOINT_URL when set, else a moto server in this process on 127.0.0.1."""
    key = env.get("TEST_AWS_ACCESS_KEY_ID") or "testing"
    secret = env.get("TEST_AWS_SECRET_ACCESS_KEY") or "testing"
    external = env.get("TEST_S3_ENDPOINT_URL")
    if external:
        yield S3Endpoint(external, key, secret)
        return
    # Imported here for start-up cost only: moto's server takes ~0.25 s to load, wasted
    # when TEST_S3_ENDPOINT_URL names a server.
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield S3Endpoint(f"http://{host}:{port}", key, secret)
    finally:
        server.stop()


def empty_bucket(client: S3Client, bucket: str) -> None:
    """Abort uploads, delete every object and the bucket itself (a shared server stays clean)."""
    for uploads in client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in uploads.get("Uploads", []):
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
    for listing in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in listing.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})  # type: ignore[typeddict-item]
    client.delete_bucket(Bucket=bucket)
