"""Build the backend of each subsystem: real clients from settings, or the simulation."""

from __future__ import annotations

from dataclasses import dataclass

from acme_integrations.kafka_admin import KafkaAdmin
from acme_integrations.postgres_database import PostgresDatabase
from acme_integrations.protocols import DatabaseOperations, KafkaOperations, S3Operations
from acme_integrations.s3_storage import S3Storage
from acme_integrations.settings import NotConfigured, Settings
from acme_integrations.simulated import (
    SimulatedDatabase,
    SimulatedKafka,
    SimulatedS3,
    SimulationProfile,
)
from acme_integrations.sqlite_database import SqliteDatabase


@dataclass(frozen=True)
class Backends:
    """One backend per subsystem, or why it is not configured."""

    database: DatabaseOperations | NotConfigured
    kafka: KafkaOperations | NotConfigured
    s3: S3Operations | NotConfigured
    simulated: bool


def real_backends(settings: Settings) -> Backends:
    """Real clients; a subsystem with missing settings stays ``NotConfigured``."""
    db = settings.database
    database: DatabaseOperations | NotConfigured
    if isinstance(db, NotConfigured):
        database = db
    else:
        database = SqliteDatabase(db) if db.is_sqlite else PostgresDatabase(db)
    kafka: KafkaOperations | NotConfigured = (
        settings.kafka if isinstance(settings.kafka, NotConfigured) else KafkaAdmin(settings.kafka)
    )
    s3: S3Operations | NotConfigured = (
        settings.s3 if isinstance(settings.s3, NotConfigured) else S3Storage(settings.s3)
    )
    return Backends(database=database, kafka=kafka, s3=s3, simulated=False)


def simulated_backends(profile: SimulationProfile) -> Backends:
    """The simulation profile for every subsystem (always configured)."""
    return Backends(
        database=SimulatedDatabase(profile),
        kafka=SimulatedKafka(profile),
        s3=SimulatedS3(profile),
        simulated=True,
    )
