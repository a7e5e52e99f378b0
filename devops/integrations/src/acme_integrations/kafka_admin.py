"""Kafka maintenance with kafka-python's KafkaAdminClient."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import anyio
from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, MemberToRemove, OffsetSpec

from acme_integrations.blocking import in_thread
from acme_integrations.error_mapping import from_kafka
from acme_integrations.errors import ValidationFailedError
from acme_integrations.outcome import Outcome
from acme_integrations.settings import KafkaSettings

# A consumer group still in one of these states after the grace period is stuck in a
# rebalance: some member joined and never synced (or never left).
REBALANCING = frozenset({"PreparingRebalance", "CompletingRebalance"})

AdminFactory = Callable[[KafkaSettings], Any]


def make_admin(settings: KafkaSettings) -> Any:
    """A real admin client (blocking: call it in a worker thread)."""
    return KafkaAdminClient(
        bootstrap_servers=list(settings.bootstrap_servers),
        client_id="acme-maintenance",
        request_timeout_ms=settings.request_timeout_ms,
    )


class KafkaAdmin:
    """Topic truncation, validation, stale-topic deletion and stuck-member removal.

    The admin client is safe to call from several threads (kafka-python 3 runs its
    network I/O on its own thread), so the topic cleans of one run overlap for real.
    ``admin_factory`` lets contract tests substitute a fake admin client.
    """

    def __init__(self, settings: KafkaSettings, admin_factory: AdminFactory = make_admin) -> None:
        self._settings = settings
        self._factory = admin_factory
        self._admin: Any = None
        self._lock = anyio.Lock()

    async def _client(self) -> Any:
        async with self._lock:
            if self._admin is None:
                self._admin = await in_thread(lambda: self._factory(self._settings), from_kafka)
            return self._admin

    async def _call(self, call: Callable[[], Any]) -> Any:
        return await in_thread(call, from_kafka)

    async def init_client(self) -> Outcome:
        admin = await self._client()
        topics = await self._call(admin.list_topics)
        servers = ",".join(self._settings.bootstrap_servers)
        return Outcome(f"connected to {servers}: {len(topics)} topics")

    async def _partitions(self, admin: Any, topics: Sequence[str]) -> list[TopicPartition]:
        described = await self._call(lambda: admin.describe_topics(list(topics)))
        return [
            TopicPartition(topic["name"], partition["partition_index"])
            for topic in described
            for partition in topic["partitions"]
        ]

    async def _offsets(
        self, admin: Any, partitions: Sequence[TopicPartition], spec: Any
    ) -> dict[TopicPartition, int]:
        result = await self._call(
            lambda: admin.list_partition_offsets({tp: spec for tp in partitions})
        )
        return {tp: int(value.offset) for tp, value in result.items()}

    async def clean_topic(self, topic: str) -> Outcome:
        admin = await self._client()
        partitions = await self._partitions(admin, [topic])
        high = await self._offsets(admin, partitions, OffsetSpec.LATEST)
        to_delete = {tp: offset for tp, offset in high.items() if offset > 0}
        if to_delete:
            await self._call(lambda: admin.delete_records(to_delete))
        return Outcome(
            f"{topic}: deleted records up to the high watermark on "
            f"{len(to_delete)} of {len(partitions)} partitions"
        )

    async def validate_cleaned(self, topics: Sequence[str]) -> Outcome:
        admin = await self._client()
        partitions = await self._partitions(admin, topics)
        low = await self._offsets(admin, partitions, OffsetSpec.EARLIEST)
        high = await self._offsets(admin, partitions, OffsetSpec.LATEST)
        uneven = [
            f"{tp.topic}[{tp.partition}] {low[tp]}..{high[tp]}"
            for tp in partitions
            if low[tp] != high[tp]
        ]
        if uneven:
            raise ValidationFailedError(
                f"Kafka: {len(uneven)} partitions still hold records after cleaning "
                f"(low..high watermark): {', '.join(uneven)}; a producer may still be writing"
            )
        return Outcome(f"low == high watermark on all {len(partitions)} partitions")

    async def cleanup_topics(self) -> Outcome:
        admin = await self._client()
        prefix = self._settings.stale_topic_prefix
        stale = sorted(t for t in await self._call(admin.list_topics) if t.startswith(prefix))
        if stale:
            await self._call(lambda: admin.delete_topics(stale))
        return Outcome(
            f"deleted {len(stale)} stale topics named {prefix}*: {', '.join(stale) or '-'}"
        )

    async def stop_consumers(self) -> Outcome:
        # kafka-python has no "kill consumer"; the closest real action is LeaveGroup on
        # behalf of the members of a group stuck in a rebalance (remove_group_members),
        # which lets the coordinator finish the rebalance without them.
        admin = await self._client()
        listed = await self._call(admin.list_groups)
        group_ids = [g["group_id"] for g in listed]
        if not group_ids:
            return Outcome("no consumer groups")
        first = await self._stuck(admin, group_ids)
        if first and self._settings.hung_group_grace_s > 0:
            await anyio.sleep(self._settings.hung_group_grace_s)
        stuck = await self._stuck(admin, sorted(first)) if first else {}
        removed: list[str] = []
        for group_id, members in stuck.items():
            targets = [
                MemberToRemove(
                    member_id=m.get("member_id"), group_instance_id=m.get("group_instance_id")
                )
                for m in members
            ]
            if targets:
                await self._call(partial(admin.remove_group_members, group_id, targets))
                removed.append(f"{group_id} ({len(targets)} members)")
        return Outcome(
            f"{len(group_ids)} groups, {len(stuck)} stuck in a rebalance; removed members from: "
            f"{', '.join(removed) or '-'}"
        )

    async def _stuck(self, admin: Any, group_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        described = await self._call(lambda: admin.describe_groups(list(group_ids)))
        return {
            group_id: list(info.get("members", []))
            for group_id, info in described.items()
            if info.get("group_state") in REBALANCING
        }

    async def aclose(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            await anyio.to_thread.run_sync(admin.close)
