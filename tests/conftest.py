"""Shared fixtures: one embedded Tansu broker for the session, isolated names per test."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agents.dev.broker import EmbeddedBroker
from agents.kafka.connection import KafkaConnection
from pipeline.settings import Settings


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as b:
        yield b


def isolated_settings(bootstrap: str, folder: Path) -> Settings:
    """Settings on `bootstrap` with topics and group of their own, so tests never see each other.

    A 6 s session timeout makes Tansu complete a group join in about 3 s.
    """
    tag = uuid.uuid4().hex[:8]
    return replace(
        Settings.from_env({}),
        bootstrap=bootstrap,
        alert_topic=f"alerts-{tag}",
        dead_letter_topic=f"dead-{tag}",
        registry_topic=f"filters-{tag}",
        usage_topic=f"usage-{tag}",
        email_topic=f"email-{tag}",
        sherlock_topic=f"sherlock-{tag}",
        tns_topic=f"tns-{tag}",
        users_topic=f"users-{tag}",
        watchlist_topic=f"watchlists-{tag}",
        area_topic=f"areas-{tag}",
        annotator_topic=f"annotators-{tag}",
        annotation_topic=f"annotations-{tag}",
        annotation_input_topic=f"annotation-input-{tag}",
        topic_prefix=f"t{tag}_",
        app_id=f"alertflow-{tag}",
        data_dir=str(folder / "data"),
        partitions=2,
        session_timeout=6.0,
    )


@pytest.fixture
def settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    return isolated_settings(broker.bootstrap, tmp_path)


def named_records(schema: Any, found: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every record type in a parsed Avro schema, by name: for tests that build alerts field by field."""
    found = {} if found is None else found
    if isinstance(schema, list):
        for branch in schema:
            named_records(branch, found)
    elif isinstance(schema, dict):
        if schema.get("type") == "record" and schema["name"] not in found:
            found[schema["name"]] = schema
            for field in schema["fields"]:
                named_records(field["type"], found)
        elif schema.get("type") == "array":
            named_records(schema["items"], found)
    return found


def connection(settings: Settings) -> KafkaConnection:
    """The one connection object every Kafka client of these settings gets."""
    return KafkaConnection.from_settings(settings)
