"""The maintenance CLI in its own container, with credentials passed only as Dagger secrets.

Where maintenance works is explicit, and means what it means for the native CLI: an S3
endpoint or, when none is given, AWS itself; Kafka at the address given, else Kafka is not
configured; the database at DATABASE_URL. Throwaway targets are only ever a rehearsal asked
for by name. The journal of the last run lives where the CLI's default puts it, with the
systems maintained (the database, else the S3 bucket), never in a cache volume of the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Annotated, Any, TypeAlias

import dagger
from dagger import Doc, dag

from acme_ci.core.workspace import Workspace
from acme_ci.dagger.containers import (
    POSTGRES_PORT,
    S3_PORT,
    SRC,
    TEST_AWS_KEY,
    once_per_call,
    package_env,
    postgres_server,
    s3_service,
)

MAINTENANCE_PACKAGE = "acme-maintenance"
DEFAULT_BUCKET = "acme-maintenance"

# The arguments `maintenance` and `cd` both take to say where maintenance works, each typed
# and documented once, so the two functions' `dagger call` flags cannot drift apart.
DatabaseUrlArg: TypeAlias = Annotated[dagger.Secret | None, Doc("DATABASE_URL")]
AwsAccessKeyIdArg: TypeAlias = Annotated[dagger.Secret | None, Doc("AWS_ACCESS_KEY_ID")]
AwsSecretAccessKeyArg: TypeAlias = Annotated[dagger.Secret | None, Doc("AWS secret")]
S3EndpointUrlArg: TypeAlias = Annotated[
    str, Doc("S3 endpoint URL; empty: AWS itself (as the maintenance CLI)")
]
S3BucketArg: TypeAlias = Annotated[str, Doc("S3 bucket")]
KafkaBootstrapServersArg: TypeAlias = Annotated[
    str, Doc("Kafka bootstrap servers; empty: Kafka is not configured")
]
RehearsalArg: TypeAlias = Annotated[
    bool,
    Doc(
        "Throwaway targets: a moto S3 with the bucket created and a PostgreSQL kept in a cache "
        "volume (Kafka only at --kafka-bootstrap-servers)"
    ),
]

# The rehearsal's PostgreSQL keeps its data in this cache volume, so the journal the first
# rehearsal wrote is there for `maintenance --cleanup --rehearsal`. A cache volume can be
# pruned by the engine at any time: acceptable for a throwaway target, never for a real one.
REHEARSAL_DATABASE_VOLUME = "acme-ci-rehearsal-postgres"
REHEARSAL_DATABASE_URL = f"postgresql://acme:acme@rehearsal-db:{POSTGRES_PORT}/acme"
REHEARSAL_S3_ENDPOINT = f"http://rehearsal-s3:{S3_PORT}"
PGDATA_MOUNT = "/var/lib/postgresql/data"

# Idempotent, so a service the engine shares between two calls of one session is fine.
CREATE_BUCKET = """\
import os
import boto3
client = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT_URL"])
try:
    client.create_bucket(Bucket=os.environ["S3_BUCKET"])
except client.exceptions.BucketAlreadyOwnedByYou:
    pass
"""


class MaintenanceFailedError(Exception):
    """The maintenance run reported failures; the message is its report."""


class TargetsError(Exception):
    """The targets of maintenance are missing or contradict each other; the message says which."""


@dataclass(frozen=True)
class Targets:
    """Where maintenance works, its fields in the order `maintenance` and `cd` take them. An
    empty endpoint is AWS; an empty Kafka address, no Kafka. TargetsError, before anything
    runs, when a rehearsal is also given a real target."""

    database_url: dagger.Secret | None = None
    aws_access_key_id: dagger.Secret | None = None
    aws_secret_access_key: dagger.Secret | None = None
    s3_endpoint_url: str = ""
    s3_bucket: str = DEFAULT_BUCKET
    kafka_bootstrap_servers: str = ""
    rehearsal: bool = False
    aws_region: str = "us-east-1"

    def __post_init__(self) -> None:
        self.check()

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> Targets:
        """The targets a function's arguments name (its `locals()`), read by field name:
        `maintenance` and `cd` declare the flags themselves, for `dagger call`."""
        names = [f.name for f in fields(cls) if f.name in arguments]
        return cls(**{name: arguments[name] for name in names})

    def secrets(self) -> dict[str, dagger.Secret | None]:
        """The credentials, by the flag that gives each."""
        return {
            "--database-url": self.database_url,
            "--aws-access-key-id": self.aws_access_key_id,
            "--aws-secret-access-key": self.aws_secret_access_key,
        }

    def check(self) -> None:
        """TargetsError when a rehearsal is also given a real database or S3."""
        if not self.rehearsal:
            return
        real = [flag for flag, secret in self.secrets().items() if secret is not None]
        if self.s3_endpoint_url:
            real.append("--s3-endpoint-url")
        if real:
            raise TargetsError(
                f"--rehearsal uses a throwaway database and S3, but {', '.join(real)} "
                "names a real one: drop --rehearsal or those flags"
            )

    def missing_for_delivery(self) -> list[str]:
        """The settings production delivery needs and lacks (S3 may be AWS: no endpoint)."""
        if self.rehearsal:
            return []
        needed = (
            ("--database-url", self.database_url is not None),
            ("--aws-access-key-id", self.aws_access_key_id is not None),
            ("--aws-secret-access-key", self.aws_secret_access_key is not None),
            ("--s3-bucket", bool(self.s3_bucket)),
            ("--kafka-bootstrap-servers", bool(self.kafka_bootstrap_servers)),
        )
        return [flag for flag, given in needed if not given]


def maintenance_argv(cleanup: bool, verbose: bool, only: tuple[str, ...] = ()) -> list[str]:
    """The CLI call; flags only, never a credential."""
    return [
        "maintenance",
        *(["--cleanup"] if cleanup else []),
        *(["--verbose"] if verbose else []),
        *(["--only", ",".join(only)] if only else []),
    ]


def subsystems_to_run(targets: Targets, cleanup: bool) -> tuple[str, ...]:
    """The `--only` of a rehearsal without a Kafka address: the subsystems it has targets for.

    A rehearsal starts a throwaway database and S3, never a broker, so its Kafka would be
    reported "not configured" and the run would exit 2 on every rehearsal. A cleanup takes
    no --only (`--cleanup --only` would clean regardless of the journal).
    """
    if targets.rehearsal and not targets.kafka_bootstrap_servers and not cleanup:
        return ("db", "s3")
    return ()


def rehearsal_database() -> dagger.Service:
    """A throwaway PostgreSQL 15 whose data (and so the journal) outlives the call."""
    return (
        postgres_server()
        # A subdirectory: the entrypoint's initdb wants an empty directory it owns.
        .with_env_variable("PGDATA", f"{PGDATA_MOUNT}/pgdata")
        # LOCKED: two rehearsals at once must not run two servers on one data directory.
        .with_mounted_cache(
            PGDATA_MOUNT,
            dag.cache_volume(REHEARSAL_DATABASE_VOLUME),
            sharing=dagger.CacheSharingMode.LOCKED,
        )
        .with_exposed_port(POSTGRES_PORT)
        .as_service(use_entrypoint=True)
    )


def with_targets(ctr: dagger.Container, targets: Targets) -> dagger.Container:
    """Point at (or, in a rehearsal, bind) the targets; every credential a secret variable."""
    database, key_id, secret_key = (
        targets.database_url,
        targets.aws_access_key_id,
        targets.aws_secret_access_key,
    )
    endpoint = targets.s3_endpoint_url
    if targets.rehearsal:
        ctr = ctr.with_service_binding("rehearsal-db", rehearsal_database()).with_service_binding(
            "rehearsal-s3", s3_service()
        )
        endpoint = REHEARSAL_S3_ENDPOINT
        # Throwaway servers' fixed credentials; still passed the way real ones are.
        database = dag.set_secret("acme-rehearsal-database-url", REHEARSAL_DATABASE_URL)
        key_id = dag.set_secret("acme-rehearsal-aws-key-id", TEST_AWS_KEY)
        secret_key = dag.set_secret("acme-rehearsal-aws-secret", TEST_AWS_KEY)
    if endpoint:
        ctr = ctr.with_env_variable("S3_ENDPOINT_URL", endpoint)
    if targets.kafka_bootstrap_servers:
        ctr = ctr.with_env_variable("KAFKA_BOOTSTRAP_SERVERS", targets.kafka_bootstrap_servers)
    ctr = ctr.with_env_variable("S3_BUCKET", targets.s3_bucket).with_env_variable(
        "AWS_REGION", targets.aws_region
    )
    secrets = {
        "DATABASE_URL": database,
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret_key,
    }
    for name, secret in secrets.items():
        if secret is not None:
            ctr = ctr.with_secret_variable(name, secret)
    if targets.rehearsal:
        # The rehearsal's S3 starts empty: its bucket must exist before maintenance runs.
        ctr = once_per_call(ctr).with_exec(["python", "-c", CREATE_BUCKET])
    return ctr


async def run_maintenance(
    ctr: dagger.Container, cleanup: bool, verbose: bool, only: tuple[str, ...] = ()
) -> str:
    """Run the CLI, on every call; its report, or MaintenanceFailedError carrying the report."""
    done = (
        await once_per_call(ctr.with_workdir(SRC))
        .with_exec(maintenance_argv(cleanup, verbose, only), expect=dagger.ReturnType.ANY)
        .sync()
    )
    code = await done.exit_code()
    report = (await done.stdout()) + (await done.stderr())
    if code != 0:
        raise MaintenanceFailedError(f"maintenance exited with {code}:\n{report}")
    return report


async def maintain(
    ws: Workspace, source: dagger.Directory, targets: Targets, cleanup: bool, verbose: bool
) -> str:
    """The maintenance CLI run against `targets` in its package's container; its report."""
    ctr = package_env(ws, MAINTENANCE_PACKAGE, source)
    only = subsystems_to_run(targets, cleanup)
    return await run_maintenance(with_targets(ctr, targets), cleanup, verbose, only)
