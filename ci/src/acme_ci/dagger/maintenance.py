"""The maintenance CLI in its own container, with credentials passed only as Dagger secrets."""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

from acme_ci.dagger.containers import (
    KAFKA_PORT,
    S3_PORT,
    SRC,
    TEST_AWS_KEY,
    kafka_service,
    s3_service,
)

# var/ holds the default SQLite database; the journal of the last run goes next to it. A
# cache volume keeps both between calls, so `maintenance --cleanup` touches only what the
# previous run left failed.
STATE_DIR = f"{SRC}/var"
STATE_VOLUME = "acme-maintenance-state"
JOURNAL = f"{STATE_DIR}/journal.json"


class MaintenanceFailedError(Exception):
    """The maintenance run reported failures; the message is its report."""


@dataclass(frozen=True)
class Targets:
    """Where maintenance works; an empty endpoint means a throwaway service in the engine."""

    database_url: dagger.Secret | None = None
    aws_access_key_id: dagger.Secret | None = None
    aws_secret_access_key: dagger.Secret | None = None
    s3_endpoint_url: str = ""
    s3_bucket: str = "acme-maintenance"
    aws_region: str = "us-east-1"
    kafka_bootstrap_servers: str = ""


def maintenance_argv(cleanup: bool, verbose: bool) -> list[str]:
    """The CLI call; flags only, never a credential."""
    return ["maintenance", *(["--cleanup"] if cleanup else []), *(["--verbose"] if verbose else [])]


def with_targets(ctr: dagger.Container, targets: Targets) -> dagger.Container:
    """Bind or point at S3 and Kafka, and set every credential as a secret variable."""
    ctr = ctr.with_mounted_cache(STATE_DIR, dag.cache_volume(STATE_VOLUME)).with_env_variable(
        "MAINTENANCE_JOURNAL", JOURNAL
    )
    key_id, secret_key = targets.aws_access_key_id, targets.aws_secret_access_key
    if targets.s3_endpoint_url:
        ctr = ctr.with_env_variable("S3_ENDPOINT_URL", targets.s3_endpoint_url)
    else:
        ctr = ctr.with_service_binding("s3", s3_service()).with_env_variable(
            "S3_ENDPOINT_URL", f"http://s3:{S3_PORT}"
        )
        # The throwaway moto server accepts any key; still passed the way real ones are.
        key_id = key_id or dag.set_secret("acme-rehearsal-aws-key-id", TEST_AWS_KEY)
        secret_key = secret_key or dag.set_secret("acme-rehearsal-aws-secret", TEST_AWS_KEY)
    if targets.kafka_bootstrap_servers:
        ctr = ctr.with_env_variable("KAFKA_BOOTSTRAP_SERVERS", targets.kafka_bootstrap_servers)
    else:
        ctr = ctr.with_service_binding("kafka", kafka_service()).with_env_variable(
            "KAFKA_BOOTSTRAP_SERVERS", f"kafka:{KAFKA_PORT}"
        )
    ctr = ctr.with_env_variable("S3_BUCKET", targets.s3_bucket).with_env_variable(
        "AWS_REGION", targets.aws_region
    )
    secrets = {
        "DATABASE_URL": targets.database_url,
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret_key,
    }
    for name, secret in secrets.items():
        if secret is not None:
            ctr = ctr.with_secret_variable(name, secret)
    return ctr


async def run_maintenance(ctr: dagger.Container, cleanup: bool, verbose: bool) -> str:
    """Run the CLI; its report, or MaintenanceFailedError carrying the report."""
    done = (
        await ctr.with_workdir(SRC)
        .with_exec(maintenance_argv(cleanup, verbose), expect=dagger.ReturnType.ANY)
        .sync()
    )
    code = await done.exit_code()
    report = (await done.stdout()) + (await done.stderr())
    if code != 0:
        raise MaintenanceFailedError(f"maintenance exited with {code}:\n{report}")
    return report
