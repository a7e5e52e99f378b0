"""Settings from the agreed environment variables."""

from __future__ import annotations

from acme_integrations.settings import (
    DEFAULT_DATABASE_URL,
    DatabaseSettings,
    KafkaSettings,
    NotConfigured,
    S3Settings,
    settings_from_env,
)


def test_empty_environment_configures_only_the_sqlite_default() -> None:
    settings = settings_from_env({})
    assert settings.database == DatabaseSettings(url=DEFAULT_DATABASE_URL)
    assert isinstance(settings.s3, NotConfigured)
    assert settings.s3.variables == ("S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    assert isinstance(settings.kafka, NotConfigured)
    assert settings.kafka.variables == ("KAFKA_BOOTSTRAP_SERVERS",)


def test_s3_names_exactly_the_missing_variable() -> None:
    settings = settings_from_env({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})
    assert isinstance(settings.s3, NotConfigured)
    assert settings.s3.variables == ("S3_BUCKET",)


def test_full_environment() -> None:
    settings = settings_from_env(
        {
            "DATABASE_URL": "postgresql://u:p@127.0.0.1/db",
            "S3_BUCKET": "bucket",
            "S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AWS_ACCESS_KEY_ID": "a",
            "AWS_SECRET_ACCESS_KEY": "b",
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092, 127.0.0.1:9093",
        }
    )
    assert isinstance(settings.database, DatabaseSettings)
    assert not settings.database.is_sqlite
    assert settings.s3 == S3Settings(
        bucket="bucket",
        access_key_id="a",
        secret_access_key="b",
        endpoint_url="http://127.0.0.1:9000",
    )
    assert settings.kafka == KafkaSettings(bootstrap_servers=("127.0.0.1:9092", "127.0.0.1:9093"))


def test_an_unsupported_database_url_is_not_configured() -> None:
    settings = settings_from_env({"DATABASE_URL": "mysql://u:secret@host/db"})
    assert isinstance(settings.database, NotConfigured)
    assert settings.database.variables == ("DATABASE_URL",)
    assert "secret" not in settings.database.reason
