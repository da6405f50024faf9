"""`run.py replay` reports what this run sent, not what the topic holds."""
from __future__ import annotations

import pytest

from pipeline.settings import Settings
from schemas import SAMPLES
from tests.agents.cli.test_cli_errors import run


@pytest.mark.integration
def test_a_second_replay_counts_only_its_own_messages(settings: Settings) -> None:
    first = run("replay", "--synthetic", "7", settings=settings)
    second = run("replay", "--synthetic", "5", "--seed", "2", settings=settings)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert first.stdout.startswith(f"replayed 7 messages on {settings.alert_topic}")
    assert second.stdout.startswith(f"replayed 5 messages on {settings.alert_topic}")  # the topic now holds 12


@pytest.mark.integration
def test_samples_replays_the_alerts_shipped_in_the_package(settings: Settings) -> None:
    result = run("replay", "--samples", settings=settings)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"replayed {len(list(SAMPLES.iterdir()))} messages")
