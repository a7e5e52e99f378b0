"""The maintenance procedures as data: stages run in order, operations in a stage concurrently.

Operation names are the original scripts' names. Every stage carries the reason for
its place in the order, so changing the order means arguing with the note next to it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from acme_integrations.outcome import Outcome
from acme_integrations.protocols import DatabaseOperations, KafkaOperations, S3Operations

B = TypeVar("B")

SUBSYSTEMS = ("database", "kafka", "s3")
ALIASES = {"db": "database", "database": "database", "kafka": "kafka", "s3": "s3"}
KAFKA_TOPICS = (
    "user-events",
    "stock-events",
    "trade-events",
    "notification-events",
    "maintenance-events",
)


@dataclass(frozen=True)
class Operation(Generic[B]):
    """One named call on a subsystem's backend, bounded by a timeout (real-world seconds)."""

    name: str
    call: Callable[[B], Awaitable[Outcome]]
    timeout_s: float = 120.0
    # The original's duration table key when it differs from ``name`` (the topic cleans).
    kind: str = ""


@dataclass(frozen=True)
class Stage(Generic[B]):
    """Operations with no ordering need between them; ``why`` explains the stage's place."""

    operations: tuple[Operation[B], ...]
    why: str


@dataclass(frozen=True)
class Procedure(Generic[B]):
    """A subsystem's maintenance stages and its cleanup stages."""

    subsystem: str
    maintenance: tuple[Stage[B], ...]
    cleanup: tuple[Stage[B], ...]


def _clean(topic: str) -> Operation[KafkaOperations]:
    return Operation(f"clean topic {topic}", lambda k: k.clean_topic(topic), kind="clean topic")


DATABASE: Procedure[DatabaseOperations] = Procedure(
    "database",
    maintenance=(
        Stage(
            (Operation("init client", lambda d: d.init_client(), timeout_s=30),),
            "every later step needs a working connection",
        ),
        Stage(
            (Operation("modify index triggers", lambda d: d.modify_index_triggers()),),
            "triggers are repaired before reindexing so the rebuilt indexes cover "
            "the rows those triggers maintain",
        ),
        Stage(
            (Operation("update indexes", lambda d: d.update_indexes(), timeout_s=1800),),
            "REINDEX before VACUUM/ANALYZE: statistics should describe the rebuilt indexes",
        ),
        Stage(
            (Operation("vacuum", lambda d: d.vacuum(), timeout_s=1800),),
            "after REINDEX, before the lock check",
        ),
        Stage(
            (Operation("check for deadlocks", lambda d: d.check_for_deadlocks()),),
            "last: verifies that nothing (maintenance included) left sessions waiting on locks",
        ),
    ),
    cleanup=(
        Stage(
            (Operation("check for deadlocks", lambda d: d.check_for_deadlocks()),),
            "first: records the lock waits before anything is cancelled",
        ),
        Stage(
            (Operation("stop hung queries", lambda d: d.stop_hung_queries()),),
            "then cancels the long-running queries that hold the locks",
        ),
    ),
)

KAFKA: Procedure[KafkaOperations] = Procedure(
    "kafka",
    maintenance=(
        Stage(
            (Operation("init client", lambda k: k.init_client(), timeout_s=30),),
            "every later step needs the admin client",
        ),
        Stage(
            tuple(_clean(topic) for topic in KAFKA_TOPICS),
            "the five topics are independent: truncating one never touches another, "
            "so they are cleaned concurrently",
        ),
        Stage(
            (Operation("validate cleaned", lambda k: k.validate_cleaned(KAFKA_TOPICS)),),
            "after every clean: it checks their result (low == high watermark)",
        ),
    ),
    cleanup=(
        Stage(
            (
                Operation("cleanup topics", lambda k: k.cleanup_topics()),
                Operation("stop consumers", lambda k: k.stop_consumers()),
            ),
            "stale topics and stuck consumer groups are unrelated, so both run concurrently",
        ),
    ),
)

S3: Procedure[S3Operations] = Procedure(
    "s3",
    maintenance=(
        Stage(
            (Operation("init client", lambda s: s.init_client(), timeout_s=30),),
            "every later step needs the client and the bucket",
        ),
        Stage(
            (Operation("clean up old blobs", lambda s: s.clean_up_old_blobs(), timeout_s=1800),),
            "before the Glacier move (the original ran it after): copying an object to "
            "GLACIER resets its LastModified, so an old large blob would escape retention "
            "and be archived (and billed for Glacier's minimum duration) instead of deleted",
        ),
        Stage(
            (
                Operation(
                    "move large blobs to glacier",
                    lambda s: s.move_large_blobs_to_glacier(),
                    timeout_s=3600,
                ),
            ),
            "after retention, on what is left",
        ),
    ),
    cleanup=(
        Stage(
            (Operation("stop hung uploads", lambda s: s.stop_hung_uploads(), timeout_s=600),),
            "aborts the multipart uploads that a failed run leaves behind",
        ),
    ),
)
