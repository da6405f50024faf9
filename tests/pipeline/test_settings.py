"""Settings come from the environment, and README documents exactly the settings the code reads."""
from __future__ import annotations

import re

import pytest

from pipeline.settings import FIELDS, REPO_ROOT, Settings, env_name

REPO = REPO_ROOT
README = (REPO / "README.md").read_text()


def test_environment_overrides_defaults() -> None:
    s = Settings.from_env({"ALERTFLOW_PARTITIONS": "12", "ALERTFLOW_BOOTSTRAP": "k:9092", "ALERTFLOW_BATCH_SECONDS": "0.5"})
    assert (s.partitions, s.bootstrap, s.batch_seconds) == (12, "k:9092", 0.5)
    assert Settings.from_env({}).alert_topic == "lsst-alerts-v11"


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(ValueError, match="ALERTFLOW_PARTITIONS='many'"):
        Settings.from_env({"ALERTFLOW_PARTITIONS": "many"})


def test_readme_settings_table_matches_the_code() -> None:
    documented = set(re.findall(r"^\| `(ALERTFLOW_[A-Z_]+)` \|", README, flags=re.M))
    assert documented == {env_name(f.name) for f in FIELDS}


def test_readme_starts_with_the_two_commands_and_ci_runs_the_test_one() -> None:
    commands = re.findall(r"^    (python3 -m venv .*)$", README, flags=re.M)
    assert len(commands) == 2 and commands[0].endswith("run.py demo")
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == commands[1]
