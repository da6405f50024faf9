"""The topics the project creates, with their partitions and configs, in one place."""
from __future__ import annotations

from pipeline.settings import Settings
from .admin import TopicSpec

COMPACT = {"cleanup.policy": "compact"}


def core_topics(settings: Settings) -> list[TopicSpec]:
    """Created before any worker starts: a topic the broker auto-created would get its default partitions."""
    return [
        TopicSpec(settings.alert_topic, settings.partitions, settings.replication),
        TopicSpec(settings.dead_letter_topic, settings.partitions, settings.replication),
        # co-partitioned with the digest table: the partition decides which worker owns a digest
        TopicSpec(settings.email_topic, settings.partitions, settings.replication),
        TopicSpec(settings.registry_topic, 1, settings.replication, COMPACT),
        TopicSpec(settings.usage_topic, 1, settings.replication, COMPACT),
        TopicSpec(settings.users_topic, 1, settings.replication, COMPACT),  # written by `run.py user` only
    ]


def output_topic(settings: Settings, name: str) -> TopicSpec:
    retention_ms = str(int(settings.output_retention_hours * 3600 * 1000))
    return TopicSpec(name, settings.partitions, settings.replication, {"retention.ms": retention_ms})
