"""Maintenance thresholds as settings: variables, flags over variables, validation."""

from __future__ import annotations

import pytest

from acme_integrations.settings import DatabaseSettings, S3Settings, settings_from_env
from acme_integrations.thresholds import (
    InvalidSettingError,
    Thresholds,
    parse_size,
    resolve_thresholds,
)

S3_ENV = {"S3_BUCKET": "b", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}


@pytest.mark.parametrize(
    ("text", "size"),
    [("1024", 1024), ("100MB", 100_000_000), ("128MiB", 128 * 2**20), ("1.5 GiB", 3 * 2**29)],
)
def test_sizes_take_decimal_and_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


def test_variables_set_every_threshold_of_the_real_backends() -> None:
    env = {
        **S3_ENV,
        "MAINTENANCE_GLACIER_MIN_SIZE": "100MB",
        "MAINTENANCE_RETENTION_DAYS": "30",
        "MAINTENANCE_UPLOAD_MAX_AGE_HOURS": "2",
        "MAINTENANCE_HUNG_QUERY_SECONDS": "60",
    }
    settings = settings_from_env(env)
    assert isinstance(settings.s3, S3Settings)
    assert isinstance(settings.database, DatabaseSettings)
    assert settings.s3.glacier_min_size_bytes == 100 * 1000**2
    assert settings.s3.retention_s == 30 * 86400
    assert settings.s3.upload_max_age_s == 2 * 3600
    assert settings.database.hung_query_after_s == 60


def test_without_variables_the_defaults_hold() -> None:
    thresholds, sources = resolve_thresholds({})
    assert thresholds == Thresholds()
    assert set(sources.values()) == {"default"}


def test_a_flag_overrides_its_variable_even_an_unusable_one() -> None:
    env = {"MAINTENANCE_RETENTION_DAYS": "-3", "MAINTENANCE_HUNG_QUERY_SECONDS": "60"}
    thresholds, sources = resolve_thresholds(env, {"--retention-days": "7"})
    assert thresholds.retention_s == 7 * 86400
    assert thresholds.hung_query_after_s == 60
    assert sources["retention_s"] == "--retention-days"
    assert sources["hung_query_after_s"] == "MAINTENANCE_HUNG_QUERY_SECONDS"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MAINTENANCE_GLACIER_MIN_SIZE", "-1"),
        ("MAINTENANCE_GLACIER_MIN_SIZE", "lots"),
        ("MAINTENANCE_GLACIER_MIN_SIZE", "10 parsecs"),
        ("MAINTENANCE_RETENTION_DAYS", "-1"),
        ("MAINTENANCE_RETENTION_DAYS", "ninety"),
        ("MAINTENANCE_UPLOAD_MAX_AGE_HOURS", "nan"),
        ("MAINTENANCE_HUNG_QUERY_SECONDS", "-0.5"),
        ("MAINTENANCE_HUNG_QUERY_SECONDS", "inf"),
    ],
)
def test_a_negative_or_unparsable_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(InvalidSettingError) as error:
        settings_from_env({**S3_ENV, variable: value})
    assert variable in str(error.value)
    assert value in str(error.value)
