"""Configuration from the environment agreed between packages, or built directly in tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

from acme_integrations.thresholds import Thresholds, resolve_thresholds

DEFAULT_DATABASE_URL = "sqlite:///var/maintenance.sqlite3"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class NotConfigured:
    """A subsystem whose required settings are missing or invalid."""

    variables: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class DatabaseSettings:
    """SQLite file (``sqlite:///relative`` or ``sqlite:////absolute``) or PostgreSQL URL."""

    url: str = DEFAULT_DATABASE_URL
    lock_wait_threshold_s: float = 10.0
    hung_query_after_s: float = 300.0
    sqlite_busy_timeout_s: float = 0.5
    statement_timeout_s: float = 600.0

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite:")

    @property
    def sqlite_path(self) -> Path:
        """The file of a ``sqlite:///path`` URL (three slashes: relative, four: absolute)."""
        return Path(unquote(urlsplit(self.url).path.removeprefix("/")))


@dataclass(frozen=True)
class S3Settings:
    """One bucket on any S3 endpoint (AWS when ``endpoint_url`` is None)."""

    bucket: str
    access_key_id: str
    secret_access_key: str
    endpoint_url: str | None = None
    region: str = DEFAULT_REGION
    glacier_min_size_bytes: int = 128 * 1024 * 1024
    retention_s: float = 90 * 24 * 3600.0
    upload_max_age_s: float = 24 * 3600.0
    concurrency: int = 8
    page_size: int = 1000


@dataclass(frozen=True)
class KafkaSettings:
    """A Kafka cluster reached through its bootstrap servers."""

    bootstrap_servers: tuple[str, ...]
    stale_topic_prefix: str = "maintenance-tmp-"
    hung_group_grace_s: float = 5.0
    request_timeout_ms: int = 30_000


@dataclass(frozen=True)
class Settings:
    """Everything the real backends need; a missing part is a ``NotConfigured``."""

    database: DatabaseSettings | NotConfigured = field(default_factory=DatabaseSettings)
    s3: S3Settings | NotConfigured = NotConfigured(("S3_BUCKET",), "S3 needs a bucket")
    kafka: KafkaSettings | NotConfigured = NotConfigured(
        ("KAFKA_BOOTSTRAP_SERVERS",), "Kafka needs its bootstrap servers"
    )


def database_from_env(env: Mapping[str, str]) -> DatabaseSettings | NotConfigured:
    """DATABASE_URL, defaulting to a SQLite file so the database is always configured."""
    url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        return DatabaseSettings(url=url)
    return NotConfigured(
        ("DATABASE_URL",),
        f"DATABASE_URL={url.split('://')[0]}://... is not supported: "
        "use sqlite:///path or postgresql://user:password@host/db",
    )


def s3_from_env(env: Mapping[str, str]) -> S3Settings | NotConfigured:
    """S3_BUCKET and both AWS keys are required; S3_ENDPOINT_URL is optional (AWS itself)."""
    required = ("S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    missing = tuple(name for name in required if not env.get(name))
    if missing:
        return NotConfigured(missing, "S3 needs a bucket and credentials")
    return S3Settings(
        bucket=env["S3_BUCKET"],
        access_key_id=env["AWS_ACCESS_KEY_ID"],
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        endpoint_url=env.get("S3_ENDPOINT_URL") or None,
        region=env.get("AWS_REGION") or DEFAULT_REGION,
    )


def kafka_from_env(env: Mapping[str, str]) -> KafkaSettings | NotConfigured:
    """KAFKA_BOOTSTRAP_SERVERS, a comma-separated list of host:port."""
    servers = tuple(
        s.strip() for s in env.get("KAFKA_BOOTSTRAP_SERVERS", "").split(",") if s.strip()
    )
    if not servers:
        return NotConfigured(("KAFKA_BOOTSTRAP_SERVERS",), "Kafka needs its bootstrap servers")
    return KafkaSettings(bootstrap_servers=servers)


def settings_from_env(env: Mapping[str, str], thresholds: Thresholds | None = None) -> Settings:
    """Read the agreed environment variables (pass ``os.environ``).

    ``thresholds`` default to the MAINTENANCE_* variables (see ``thresholds.py``); an
    unusable value raises ``InvalidSettingError`` naming its variable.
    """
    limits = thresholds if thresholds is not None else resolve_thresholds(env)[0]
    database = database_from_env(env)
    if isinstance(database, DatabaseSettings):
        database = replace(database, hung_query_after_s=limits.hung_query_after_s)
    s3 = s3_from_env(env)
    if isinstance(s3, S3Settings):
        s3 = replace(
            s3,
            glacier_min_size_bytes=limits.glacier_min_size_bytes,
            retention_s=limits.retention_s,
            upload_max_age_s=limits.upload_max_age_s,
        )
    return Settings(database=database, s3=s3, kafka=kafka_from_env(env))
