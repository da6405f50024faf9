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
        # annotations sent over Kafka by high-volume classifiers, checked before they are stored
        TopicSpec(settings.annotation_input_topic, settings.partitions, settings.replication),
        # one partition each: a watchlist's or area's chunks must come before its header
        TopicSpec(settings.watchlist_topic, 1, settings.replication, COMPACT),
        TopicSpec(settings.area_topic, 1, settings.replication, COMPACT),
        *context_topics(settings),
    ]


def context_topics(settings: Settings) -> list[TopicSpec]:
    """The context sources' compacted topics: read whole by every worker, like the registry."""
    return [
        TopicSpec(settings.sherlock_topic, 1, settings.replication, COMPACT),
        TopicSpec(settings.tns_topic, 1, settings.replication, COMPACT),
        # annotations: who may annotate under which topic, and the latest annotation per (object, topic)
        TopicSpec(settings.annotator_topic, 1, settings.replication, COMPACT),
        TopicSpec(settings.annotation_topic, 1, settings.replication, COMPACT),
    ]


def output_topic(settings: Settings, name: str) -> TopicSpec:
    retention_ms = str(int(settings.output_retention_hours * 3600 * 1000))
    return TopicSpec(name, settings.partitions, settings.replication, {"retention.ms": retention_ms})
