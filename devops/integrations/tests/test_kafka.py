"""Kafka operations.

Without KAFKA_BOOTSTRAP_SERVERS there is no broker: the contract tests below drive the
operations against a fake admin client (a stand-in for KafkaAdminClient that keeps
partition watermarks and group states) and check the calls and their effect. With
KAFKA_BOOTSTRAP_SERVERS set, the last test runs against that broker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

import kafka.errors
import pytest
from kafka import TopicPartition
from kafka.admin import OffsetSpec

from acme_integrations.errors import OperationTimeoutError, ValidationFailedError
from acme_integrations.kafka_admin import KafkaAdmin, make_admin
from acme_integrations.settings import KafkaSettings

pytestmark = pytest.mark.anyio


class Offset(NamedTuple):
    offset: int
    timestamp: int


class FakeAdmin:
    """A fake KafkaAdminClient: watermarks per partition, groups with a state and members."""

    def __init__(self, topics: dict[str, list[tuple[int, int]]]) -> None:
        self.watermarks = {
            TopicPartition(name, index): list(marks)
            for name, partitions in topics.items()
            for index, marks in enumerate(partitions)
        }
        self.groups: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, Any]] = []
        self.fail_with: Exception | None = None

    def _record(self, name: str, argument: Any = None) -> None:
        self.calls.append((name, argument))
        if self.fail_with is not None:
            raise self.fail_with

    def list_topics(self) -> list[str]:
        self._record("list_topics")
        return sorted({tp.topic for tp in self.watermarks})

    def describe_topics(self, topics: Sequence[str]) -> list[dict[str, Any]]:
        self._record("describe_topics", list(topics))
        return [
            {
                "name": name,
                "partitions": [
                    {"partition_index": tp.partition} for tp in self.watermarks if tp.topic == name
                ],
            }
            for name in topics
        ]

    def list_partition_offsets(
        self, specs: dict[TopicPartition, Any]
    ) -> dict[TopicPartition, Offset]:
        self._record("list_partition_offsets", dict(specs))
        index = {OffsetSpec.EARLIEST: 0, OffsetSpec.LATEST: 1}
        return {tp: Offset(self.watermarks[tp][index[spec]], -1) for tp, spec in specs.items()}

    def delete_records(self, records: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
        self._record("delete_records", dict(records))
        for tp, offset in records.items():
            self.watermarks[tp][0] = offset
        return {}

    def delete_topics(self, topics: list[str]) -> None:
        self._record("delete_topics", list(topics))
        self.watermarks = {tp: m for tp, m in self.watermarks.items() if tp.topic not in topics}

    def list_groups(self) -> list[dict[str, Any]]:
        self._record("list_groups")
        return [{"group_id": group_id} for group_id in self.groups]

    def describe_groups(self, group_ids: list[str]) -> dict[str, dict[str, Any]]:
        self._record("describe_groups", list(group_ids))
        return {group_id: self.groups[group_id] for group_id in group_ids}

    def remove_group_members(self, group_id: str, members: list[Any]) -> dict[Any, Any]:
        self._record("remove_group_members", (group_id, [m.member_id for m in members]))
        self.groups[group_id]["members"] = []
        self.groups[group_id]["group_state"] = "Empty"
        return {}

    def close(self) -> None:
        self._record("close")


def _admin(fake: FakeAdmin, **overrides: Any) -> KafkaAdmin:
    settings = KafkaSettings(bootstrap_servers=("127.0.0.1:9092",), **overrides)
    return KafkaAdmin(settings, admin_factory=lambda _: fake)


async def test_clean_topic_deletes_records_up_to_each_high_watermark() -> None:
    fake = FakeAdmin({"user-events": [(0, 10), (3, 7), (0, 0)], "other": [(0, 5)]})
    admin = _admin(fake)

    outcome = await admin.clean_topic("user-events")

    deletes = [argument for name, argument in fake.calls if name == "delete_records"]
    assert deletes == [{TopicPartition("user-events", 0): 10, TopicPartition("user-events", 1): 7}]
    assert fake.watermarks[TopicPartition("other", 0)] == [0, 5]
    assert "2 of 3 partitions" in outcome.detail
    assert "validate" not in outcome.detail
    assert "low == high" in (await admin.validate_cleaned(["user-events"])).detail


async def test_validate_cleaned_fails_permanently_when_records_remain() -> None:
    fake = FakeAdmin({"user-events": [(0, 0)], "trade-events": [(2, 9)]})
    with pytest.raises(ValidationFailedError, match=r"trade-events\[0\] 2\.\.9"):
        await _admin(fake).validate_cleaned(["user-events", "trade-events"])


async def test_cleanup_topics_deletes_only_stale_maintenance_topics() -> None:
    fake = FakeAdmin(
        {"maintenance-tmp-1": [(0, 0)], "maintenance-tmp-2": [(0, 1)], "user-events": [(0, 3)]}
    )

    outcome = await _admin(fake).cleanup_topics()

    assert ("delete_topics", ["maintenance-tmp-1", "maintenance-tmp-2"]) in fake.calls
    assert {tp.topic for tp in fake.watermarks} == {"user-events"}
    assert "deleted 2 stale topics" in outcome.detail


async def test_stop_consumers_removes_members_of_groups_stuck_in_a_rebalance() -> None:
    fake = FakeAdmin({})
    fake.groups = {
        "stuck": {
            "group_state": "PreparingRebalance",
            "members": [{"member_id": "m1"}, {"member_id": "m2"}],
        },
        "healthy": {"group_state": "Stable", "members": [{"member_id": "m3"}]},
    }

    outcome = await _admin(fake, hung_group_grace_s=0.0).stop_consumers()

    removals = [argument for name, argument in fake.calls if name == "remove_group_members"]
    assert removals == [("stuck", ["m1", "m2"])]
    assert fake.groups["healthy"]["members"] == [{"member_id": "m3"}]
    assert "1 stuck" in outcome.detail


async def test_client_errors_become_typed_errors() -> None:
    fake = FakeAdmin({"user-events": [(0, 1)]})
    admin = _admin(fake)
    await admin.init_client()
    fake.fail_with = kafka.errors.KafkaTimeoutError("request timed out")
    with pytest.raises(OperationTimeoutError):
        await admin.clean_topic("user-events")


async def test_against_a_real_broker() -> None:
    servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not servers:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS is not set: no broker to test against")
    from kafka import KafkaProducer
    from kafka.admin import NewTopic

    settings = KafkaSettings(bootstrap_servers=tuple(servers.split(",")))
    topic = f"acme-test-{uuid.uuid4().hex[:8]}"
    setup = make_admin(settings)
    setup.create_topics([NewTopic(topic, 1, 1)])
    producer = KafkaProducer(bootstrap_servers=list(settings.bootstrap_servers))
    for index in range(5):
        producer.send(topic, f"{index}".encode())
    producer.flush()
    producer.close()
    admin = KafkaAdmin(settings)
    try:
        await admin.init_client()
        await admin.clean_topic(topic)
        assert "low == high" in (await admin.validate_cleaned([topic])).detail
    finally:
        await admin.aclose()
        setup.delete_topics([topic])
        setup.close()
