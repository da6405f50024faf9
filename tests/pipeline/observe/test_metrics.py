"""Prometheus metrics: the exposition format parsed back strictly, counters read from the worker's
state, and `/metrics` of a real worker after a replay checked against hand-computed counts."""
from __future__ import annotations

import asyncio
import math
import re
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from agents.cli.replay import produce
from agents.dev.broker import free_port
from agents.kafka.admin import ensure_topics, read_records
from agents.kafka.topology import core_topics
from pipeline.observe.metrics import LATENCY_BUCKETS, WorkerMetrics, consumer_lag
from pipeline.observe.stats import WorkerStats
from pipeline.streams.filter_record import create
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.usage import UsageBook
from tests.agents.worker.test_digests_e2e import Mailbox, SmtpServer
from tests.agents.worker.test_streams import SQL, add_filter, alerts, running_worker, wanted
from tests.agents.worker.test_worker_integration import corrupt_messages
from tests.conftest import connection

# ---------------------------------------------------------------- a strict reader of the text format

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)$")
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SUFFIXES = {"counter": ("",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count"),
            "untyped": ("",)}


def unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], value)


def number(text: str) -> float:
    return {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}.get(text) or float(text)


@dataclass
class Family:
    name: str
    kind: str
    help: str
    samples: list[tuple[str, dict[str, str], float]]


def parse(text: str) -> dict[str, Family]:
    """Every line checked: HELP then TYPE once per family, samples only of the family just declared."""
    assert text.endswith("\n"), "the exposition ends with a line feed"
    families: dict[str, Family] = {}
    current: Family | None = None
    help_of: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, doc = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and name not in help_of, line
            help_of[name] = doc
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert name in help_of and name not in families, f"TYPE without HELP, or twice: {line}"
            assert kind in SUFFIXES, line
            current = families[name] = Family(name, kind, help_of[name], [])
        else:
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, labels, value = match.groups()
            assert current is not None and name in {current.name + s for s in SUFFIXES[current.kind]}, \
                f"sample {name} outside its family ({current and current.name})"
            pairs = LABEL_PAIR.findall(labels or "")
            assert len({k for k, _ in pairs}) == len(pairs), f"repeated label: {line}"
            current.samples.append((name, {k: unescape(v) for k, v in pairs}, number(value)))
    assert set(help_of) == set(families), "a HELP without its TYPE"
    return families


def value(families: dict[str, Family], name: str, **labels: str) -> float:
    """The one sample called `name` with exactly `labels`."""
    found = [v for f in families.values() for n, ls, v in f.samples if n == name and ls == labels]
    assert len(found) == 1, f"{name}{labels}: {len(found)} samples"
    return found[0]


def check_histogram(family: Family) -> tuple[list[tuple[float, float]], float, float]:
    """Buckets cumulative, increasing bounds, +Inf last and equal to _count."""
    buckets = [(number(ls["le"]), v) for n, ls, v in family.samples if n.endswith("_bucket")]
    bounds = [b for b, _ in buckets]
    assert bounds == sorted(bounds) and bounds[-1] == math.inf
    counts = [c for _, c in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    count = value({family.name: family}, family.name + "_count")
    total = value({family.name: family}, family.name + "_sum")
    assert counts[-1] == count
    return buckets, total, count


# ---------------------------------------------------------------- units


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Emails:
    sent: int = 0
    failures: int = 0


def a_registry(*records) -> FilterRegistry:
    registry = FilterRegistry()
    for r in records:
        registry.apply(r.id.encode(), r.to_json())
    return registry


def test_every_line_is_valid_exposition_and_counts_come_from_worker_state() -> None:
    plain = create("lasair_", "7", 'odd "name" \\ with\nnewline', "SELECT diaObjectId FROM objects", "plain")
    mail = create("lasair_", "7", "mail", "SELECT diaObjectId FROM objects", "email", email="a@example.org")
    idle = create("lasair_", "8", "idle", "SELECT diaObjectId FROM objects", "lite")
    registry = a_registry(plain, mail, idle)
    stats = WorkerStats()
    stats.processed(40, 7, time.time())
    stats.dead_lettered.update({"corrupt": 2, "truncated": 3})
    usage = UsageBook("w1", time.time)
    usage.matched(plain.id, 5)
    usage.matched(mail.id, 4)
    assert [usage.admit(plain.id, 1000, size, 2000) for size in (400, 400, 400, 3000)] == [True, True, False, False]
    metrics = WorkerMetrics(stats, usage, registry, Emails(sent=3, failures=1))
    for seconds in (0.0005, 0.001, 0.0011, 0.2, 59.0, 75.0, -0.5):
        metrics.observe_latency(seconds)

    families = parse(metrics.render({("alerts", 1): 4, ("alerts", 0): 0}))
    assert all(f.help for f in families.values())
    assert value(families, "alertflow_alerts_consumed_total") == 40
    assert value(families, "alertflow_decode_failures_total", reason="corrupt") == 2
    assert value(families, "alertflow_decode_failures_total", reason="truncated") == 3
    assert value(families, "alertflow_dead_lettered_total") == 5
    assert value(families, "alertflow_active_filters") == 3
    assert value(families, "alertflow_filter_matches_total", filter_id=plain.id) == 5
    assert value(families, "alertflow_filter_records_total", filter_id=plain.id) == 2
    assert value(families, "alertflow_filter_bytes_total", filter_id=plain.id) == 800
    assert value(families, "alertflow_filter_rejected_total", filter_id=plain.id, reason="quota") == 1
    assert value(families, "alertflow_filter_rejected_total", filter_id=plain.id, reason="too_large") == 1
    assert value(families, "alertflow_filter_matches_total", filter_id=mail.id) == 4
    assert value(families, "alertflow_filter_matches_total", filter_id=idle.id) == 0, "an active filter has series from the start"
    assert value(families, "alertflow_emails_sent_total") == 3
    assert value(families, "alertflow_emails_failed_total") == 1
    assert value(families, "alertflow_consumer_lag", topic="alerts", partition="1") == 4
    assert value(families, "alertflow_consumer_lag", topic="alerts", partition="0") == 0
    info = {ls["filter_id"]: ls for _, ls, _ in families["alertflow_filter_info"].samples}
    assert info[plain.id]["name"] == plain.name, "label escaping round-trips quotes, backslashes and newlines"
    assert info[mail.id]["topic"] == "" and info[mail.id]["mode"] == "email"
    assert {f.kind for n, f in families.items() if n.endswith("_total")} == {"counter"}

    buckets, total, count = check_histogram(families["alertflow_alert_to_record_seconds"])
    assert count == 7 and total == pytest.approx(0.0005 + 0.001 + 0.0011 + 0.2 + 59.0 + 75.0)
    cumulative = dict(buckets)
    assert [b for b, _ in buckets] == [*LATENCY_BUCKETS, math.inf]
    assert cumulative[0.001] == 3, "le is inclusive; a negative latency counts as 0"
    assert cumulative[0.0025] == 4 and cumulative[0.25] == 5 and cumulative[60.0] == 6 and cumulative[math.inf] == 7


def test_histogram_bucket_edges() -> None:
    def empty(buckets: tuple[float, ...]) -> WorkerMetrics:
        return WorkerMetrics(WorkerStats(), UsageBook("w", time.time), FilterRegistry(), latency_buckets=buckets)

    metrics = empty((1.0, 2.0))
    for v in (0.0, 1.0, 1.0000001, 2.0, 2.5):
        metrics.observe_latency(v)
    assert check_histogram(parse(metrics.render())["alertflow_alert_to_record_seconds"])[0] == [(1.0, 2), (2.0, 4), (math.inf, 5)]
    with pytest.raises(ValueError):
        empty((2.0, 1.0))


def test_per_filter_counters_survive_the_usage_day_rolling_over() -> None:
    """UsageBook starts afresh at 00:00 UTC (the quota day); the counters must not go down."""
    f = create("lasair_", "1", "f", "SELECT diaObjectId FROM objects", "plain")
    clock = FakeClock(1_800_057_600.0 - 10)  # ten seconds before a UTC midnight
    assert time.gmtime(clock.now + 10)[3:6] == (0, 0, 0)
    usage = UsageBook("w1", clock)
    metrics = WorkerMetrics(WorkerStats(), usage, a_registry(f))
    usage.matched(f.id, 3)
    usage.admit(f.id, 10_000, 100, 1000)  # no scrape before midnight
    clock.now += 20
    usage.matched(f.id, 2)
    usage.admit(f.id, 10_000, 50, 1000)
    assert usage.own[f.id].matches == 2, "the book itself counts the new day only"
    families = parse(metrics.render())
    assert value(families, "alertflow_filter_matches_total", filter_id=f.id) == 5
    assert value(families, "alertflow_filter_records_total", filter_id=f.id) == 2
    assert value(families, "alertflow_filter_bytes_total", filter_id=f.id) == 150
    assert value(parse(metrics.render()), "alertflow_filter_matches_total", filter_id=f.id) == 5, "a second scrape adds nothing"
    clock.now += 86_400
    usage.matched(f.id, 1)
    assert value(parse(metrics.render()), "alertflow_filter_matches_total", filter_id=f.id) == 6


def test_consumer_lag_is_highwater_minus_position_never_negative() -> None:
    assert consumer_lag({("a", 0): (10, 25), ("a", 1): (30, 25), ("a", 2): (None, 5), ("b", 0): (3, None), ("b", 1): (0, 0)}) == {
        ("a", 0): 15, ("a", 1): 0, ("b", 1): 0}


def test_label_escaping() -> None:
    odd = create("lasair_", "7", 'a"b\\c\nd', "SELECT diaObjectId FROM objects", "plain")
    text = WorkerMetrics(WorkerStats(), UsageBook("w", time.time), a_registry(odd)).render()
    assert 'name="a\\"b\\\\c\\nd"' in text


def test_no_worker_state_still_renders_every_family() -> None:
    families = parse(WorkerMetrics(WorkerStats(), UsageBook("w", time.time), FilterRegistry()).render())
    assert {"alertflow_alerts_consumed_total", "alertflow_decode_failures_total", "alertflow_dead_lettered_total",
            "alertflow_filter_matches_total", "alertflow_filter_records_total", "alertflow_filter_bytes_total",
            "alertflow_filter_rejected_total", "alertflow_emails_sent_total", "alertflow_emails_failed_total",
            "alertflow_alert_to_record_seconds", "alertflow_consumer_lag", "alertflow_active_filters"} <= set(families)
    assert value(families, "alertflow_alerts_consumed_total") == 0
    assert check_histogram(families["alertflow_alert_to_record_seconds"])[2] == 0


# ---------------------------------------------------------------- a worker on the embedded broker

EMAIL_SQL = "SELECT objects.diaObjectId FROM objects WHERE objects.nDiaSources >= 30 AND objects.latestR > 0.5"


def scrape(host: str, port: int) -> tuple[str, str]:
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
        return response.headers["Content-Type"], response.read().decode()


@pytest.mark.integration
def test_metrics_endpoint_after_a_replay(settings, tmp_path: Path) -> None:
    mailbox, smtp_port = Mailbox(), free_port()
    smtp = SmtpServer(mailbox, smtp_port)
    smtp.start()
    settings = replace(settings, max_message_bytes=40_000, email_topic=f"email-{uuid.uuid4().hex[:8]}",
                       smtp_host="127.0.0.1", smtp_port=smtp_port)
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    quota = 20_000
    bright = add_filter(settings, user="1", name="bright", mode="plain", sql=SQL)
    capped = add_filter(settings, user="1", name="capped", mode="plain", quota_bytes=quota,
                        sql="SELECT diaObjectId, ra, decl, nDiaSources, latestR FROM objects")
    full = add_filter(settings, user="2", name="full", mode="full", sql="SELECT diaObjectId FROM objects")
    mail = add_filter(settings, user="2", name="mail", mode="email", email="a@example.org", sql=EMAIL_SQL)
    n = 200
    messages, items = alerts(n, seed=71)
    bad = corrupt_messages(messages[0])
    expected_bright = sum(wanted(i.row) for i in items)
    assert 10 < expected_bright < n - 10, "the test data must exercise both outcomes"

    try:
        with running_worker(settings, tmp_path / "worker.log") as worker:
            worker.wait_ready()
            ends = asyncio.run(produce(connection(settings), settings.alert_topic, messages + [m for m, _ in bad], progress=False))
            worker.wait_caught_up(settings.alert_topic, ends, timeout=60)
            deadline = time.monotonic() + 30
            while True:  # counters move just after the offsets are committed; e-mail goes on its own agent
                content_type, text = scrape(settings.web_host, worker.settings.web_port)
                families = parse(text)
                done = (value(families, "alertflow_alerts_consumed_total") == n
                        and value(families, "alertflow_emails_sent_total") == 1)
                if done:
                    break
                assert time.monotonic() < deadline, f"metrics never reached the expected counts:\n{text}"
                time.sleep(0.2)
    finally:
        smtp.stop()

    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert value(families, "alertflow_dead_lettered_total") == len(bad)
    for reason, count in Counter(r for _, r in bad).items():
        assert value(families, "alertflow_decode_failures_total", reason=reason) == count
    assert value(families, "alertflow_active_filters") == 4

    def per(name: str, f, **labels: str) -> float:
        return value(families, f"alertflow_filter_{name}_total", filter_id=f.id, **labels)

    assert per("matches", bright) == per("records", bright) == expected_bright
    assert per("rejected", bright, reason="quota") == per("rejected", bright, reason="too_large") == 0
    assert per("matches", capped) == n
    assert 0 < per("records", capped) < n and per("records", capped) + per("rejected", capped, reason="quota") == n
    assert per("bytes", capped) <= quota and per("rejected", capped, reason="too_large") == 0
    assert per("matches", full) == n and per("rejected", full, reason="too_large") > 0 and per("records", full) > 0
    assert per("records", full) + per("rejected", full, reason="too_large") == n
    assert per("matches", mail) == expected_bright and per("records", mail) == 0
    assert value(families, "alertflow_emails_failed_total") == 0 and len(mailbox.messages) == 1

    produced = sum(per("records", f) for f in (bright, capped, full))
    _, latency_sum, latency_count = check_histogram(families["alertflow_alert_to_record_seconds"])
    assert latency_count == produced and 0 < latency_sum < 60 * produced

    lag = {(ls["topic"], ls["partition"]): v for _, ls, v in families["alertflow_consumer_lag"].samples}
    assert {tp: v for tp, v in lag.items() if tp[0] == settings.alert_topic} == {(settings.alert_topic, "0"): 0,
                                                                                   (settings.alert_topic, "1"): 0}, \
        "both alert partitions are this worker's, and it has caught up"
    assert {topic for topic, _ in lag} <= {settings.alert_topic, settings.email_topic}, "no changelog or internal topics"

    on_topic = asyncio.run(read_records(connection(settings), capped.topic, expected=int(per("records", capped)), timeout=20))
    assert len(on_topic) == per("records", capped)
    assert sum(len(r.value) for r in on_topic) < per("bytes", capped), "bytes as the producer counts them: value plus overhead"
