"""Where the journal lives: choose the store, and open it.

``--journal`` (else ``MAINTENANCE_JOURNAL``) names the store: ``database`` (a table in
the database at DATABASE_URL), ``s3://BUCKET/KEY`` (an object), or a file path. With
neither, the journal goes where every runner of maintenance can see it: the database
when DATABASE_URL is set, else the S3 bucket when S3 is configured, else the local file
``.acme/maintenance/journal.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from acme_maintenance.journal_database import database_store
from acme_maintenance.journal_file import FileJournal
from acme_maintenance.journal_s3 import s3_store
from acme_maintenance.journal_store import JournalError, JournalStore

DEFAULT_FILE = Path(".acme/maintenance/journal.json")
DEFAULT_S3_KEY = ".acme/maintenance/journal.json"
S3_REQUIRED = ("S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")

Kind = Literal["database", "s3", "file"]


@dataclass(frozen=True)
class JournalChoice:
    """The store the user chose, and how it was chosen (shown by --dry-run)."""

    kind: Kind
    target: str
    why: str


def choose_journal(explicit: str | None, env: Mapping[str, str]) -> JournalChoice:
    """--journal, else MAINTENANCE_JOURNAL, else the shared default (see the module doc)."""
    if explicit:
        return _parse(explicit, "--journal")
    if env.get("MAINTENANCE_JOURNAL"):
        return _parse(env["MAINTENANCE_JOURNAL"], "MAINTENANCE_JOURNAL")
    if env.get("DATABASE_URL"):
        return JournalChoice("database", "", "default: DATABASE_URL is set")
    if all(env.get(name) for name in S3_REQUIRED):
        return JournalChoice(
            "s3",
            f"s3://{env['S3_BUCKET']}/{DEFAULT_S3_KEY}",
            "default: S3_BUCKET and AWS credentials are set",
        )
    return JournalChoice(
        "file", str(DEFAULT_FILE), "default: no DATABASE_URL or S3 configured, local file"
    )


def _parse(value: str, source: str) -> JournalChoice:
    if value == "database":
        return JournalChoice("database", "", f"from {source}")
    if value.startswith("s3://"):
        bucket, _, key = value.removeprefix("s3://").partition("/")
        if not bucket or not key or key.endswith("/"):
            raise JournalError(
                f"{source}={value} is not an S3 object: write s3://BUCKET/KEY, "
                f"for example s3://my-bucket/{DEFAULT_S3_KEY}"
            )
        return JournalChoice("s3", value, f"from {source}")
    return JournalChoice("file", value, f"from {source}")


def open_store(choice: JournalChoice, env: Mapping[str, str]) -> JournalStore:
    """The store for a choice; the database and S3 settings come from ``env``."""
    if choice.kind == "database":
        return database_store(env)
    if choice.kind == "s3":
        return s3_store(choice.target, env)
    return FileJournal(Path(choice.target))
