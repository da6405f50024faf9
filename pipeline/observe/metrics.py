"""A worker's metrics in the Prometheus text exposition format (version 0.0.4), with no dependency.

Most values are not counted twice: they are read, when `/metrics` is scraped, from what the
worker already keeps: alerts and dead letters from `WorkerStats`, per-filter volume from the
`UsageBook` (this worker's own counters), e-mails from the digest agent, filters from the
registry. Only the alert-to-record latency histogram is fed from the hot path, and observing
costs one bisect over 15 bounds. Nothing is global, so a process (or a test) can hold several.

Per-filter counters run from the worker's start. `UsageBook` starts a fresh `own` dict at 00:00
UTC (the quota day) and drops the old one without clearing it; `sync()` notices the new dict and
carries the old day's final values forward, so the counters never go down. `sync()` must run at
least once a day (every scrape does, and `agents/worker/metrics_page.py` adds a timer for idle times).

Consumer lag is a broker position minus the consumer's position. On Tansu (the embedded default)
the high watermark is the base offset of the last record batch + 1, not the log end, so lag reads
low there and may come out negative: it is clamped at 0. On Kafka and Redpanda it is exact.
"""
from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.usage import Usage, UsageBook
from .stats import WorkerStats

CONTENT_TYPE = "text/plain; version=0.0.4"  # aiohttp adds "; charset=utf-8"

# 1 ms .. 60 s: a record normally follows its alert within a batch (0.2 s); seconds mean a backlog.
LATENCY_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

Labels = Mapping[str, Any]
TopicPartition = tuple[str, int]


class EmailCounters(Protocol):
    """What the metrics read from the digest agent (`agents.worker.digest_agent.Digests`)."""

    sent: int
    failures: int


# ---------------------------------------------------------------- exposition format


def escape_label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def format_labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items()) + "}"


class Exposition:
    """Builds one scrape's text: each family's HELP and TYPE once, then its samples."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: set[str] = set()

    def family(self, name: str, kind: str, help: str) -> None:
        if name in self.names:
            raise ValueError(f"metric family {name} declared twice")
        self.names.add(name)
        self.lines.append(f"# HELP {name} {escape_help(help)}")
        self.lines.append(f"# TYPE {name} {kind}")

    def sample(self, name: str, value: float, labels: Labels | None = None) -> None:
        self.lines.append(f"{name}{format_labels(labels or {})} {format_value(value)}")

    def metric(self, name: str, kind: str, help: str, samples: Iterable[tuple[Labels, float]] | float) -> None:
        """A family and its samples: one value, or (labels, value) pairs."""
        self.family(name, kind, help)
        if isinstance(samples, (int, float)):
            self.sample(name, samples)
        else:
            for labels, value in samples:
                self.sample(name, value, labels)

    def histogram(self, name: str, help: str, histogram: Histogram, labels: Labels | None = None) -> None:
        self.family(name, "histogram", help)
        labels = dict(labels or {})
        for bound, cumulative in histogram.cumulative():
            self.sample(f"{name}_bucket", cumulative, {**labels, "le": format_value(bound)})
        self.sample(f"{name}_sum", histogram.sum, labels)
        self.sample(f"{name}_count", histogram.count, labels)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


@dataclass
class Histogram:
    """Counts per bucket (not cumulative: observing touches one slot); `le` semantics as Prometheus."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    sum: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError(f"histogram bounds must be increasing: {self.bounds}")
        self.counts = [0] * (len(self.bounds) + 1)  # the last is +Inf

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[float, int]]:
        out, running = [], 0
        for bound, n in zip((*self.bounds, math.inf), self.counts):
            running += n
            out.append((bound, running))
        return out


# ---------------------------------------------------------------- consumer lag


def consumer_lag(progress: Mapping[TopicPartition, tuple[int | None, int | None]]) -> dict[TopicPartition, int]:
    """{(topic, partition): (position, highwater)} -> {(topic, partition): lag}, never below 0.

    Partitions whose position or highwater is not known yet (no fetch so far) are left out.
    Tansu under-reports the highwater for batched produce (see the module docstring): clamped.
    """
    return {tp: max(0, int(high) - int(pos)) for tp, (pos, high) in progress.items() if pos is not None and high is not None}


# ---------------------------------------------------------------- the worker's metrics


class WorkerMetrics:
    """The metrics of one worker process; `render()` gives a scrape's text."""

    def __init__(self, stats: WorkerStats, usage: UsageBook, registry: FilterRegistry, emails: EmailCounters | None = None,
                 latency_buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.stats = stats
        self.usage = usage
        self.registry = registry
        self.emails = emails
        self.latency = Histogram(latency_buckets)
        self._own = usage.own  # the UsageBook's dict for the current day, watched by sync()
        self._carried: dict[str, Usage] = {}  # per filter: the days before it, summed

    @classmethod
    def for_worker(cls, worker: Any, emails: EmailCounters | None = None) -> WorkerMetrics:
        """From an `agents.worker.app.WorkerState` (anything with `stats`, `usage`, `registry`)."""
        return cls(worker.stats, worker.usage, worker.registry, emails)

    def observe_latency(self, seconds: float) -> None:
        """Alert-to-record latency of one record: when it was produced minus the alert's Kafka timestamp.

        Negative values (clocks of producer and worker apart) count as 0.
        """
        self.latency.observe(seconds if seconds > 0.0 else 0.0)

    def sync(self) -> None:
        """Carry a finished UTC day's counters forward once the UsageBook has started a new day."""
        own = self.usage.own
        if own is not self._own:
            for filter_id, usage in self._own.items():
                self._carried.setdefault(filter_id, Usage()).add(usage)
            self._own = own

    def filter_totals(self) -> dict[str, Usage]:
        """This worker's per-filter counters since it started."""
        self.sync()
        totals: dict[str, Usage] = {}
        for source in (self._carried, self._own):
            for filter_id, usage in list(source.items()):
                totals.setdefault(filter_id, Usage()).add(usage)
        return totals

    def render(self, lag: Mapping[TopicPartition, int] | None = None) -> str:
        """The exposition text; `lag` is {(topic, partition): lag} as `consumer_lag` gives."""
        out = Exposition()
        stats = self.stats
        failures = dict(stats.dead_lettered)
        out.metric("alertflow_alerts_consumed_total", "counter",
                   "Alerts read from the alert topic and decoded; messages that failed are in alertflow_decode_failures_total.",
                   stats.alerts)
        out.metric("alertflow_decode_failures_total", "counter",
                   "Alert-topic messages that could not be decoded or featurised, by reason.",
                   [({"reason": reason}, n) for reason, n in sorted(failures.items())])
        out.metric("alertflow_dead_lettered_total", "counter", "Messages put on the dead-letter topic.", sum(failures.values()))

        records = self.registry.records
        active = self.registry.active()
        totals = self.filter_totals()
        ids = sorted(set(totals) | set(active))
        out.metric("alertflow_active_filters", "gauge", "Active filters this worker runs.", len(active))
        out.metric("alertflow_filter_info", "gauge", "Every filter this worker knows, with its name, user, mode, topic and state.",
                   [({"filter_id": r.id, "name": r.name, "user": r.user, "mode": r.mode, "topic": r.topic if r.streams_to_kafka else "",
                      "active": "true" if r.active else "false"}, 1) for r in sorted(records.values(), key=lambda r: r.id)])
        per = {fid: totals.get(fid) or Usage() for fid in ids}
        out.metric("alertflow_filter_matches_total", "counter", "Alerts that matched a filter (Kafka and e-mail filters).",
                   [({"filter_id": fid}, u.matches) for fid, u in per.items()])
        out.metric("alertflow_filter_records_total", "counter", "Records produced to a filter's topic.",
                   [({"filter_id": fid}, u.records) for fid, u in per.items()])
        out.metric("alertflow_filter_bytes_total", "counter", "Bytes of the records produced to a filter's topic, as the producer counts them.",
                   [({"filter_id": fid}, u.bytes) for fid, u in per.items()])
        out.metric("alertflow_filter_rejected_total", "counter",
                   "Records not produced: over the filter's daily byte quota, or larger than the broker accepts.",
                   [s for fid, u in per.items() for s in (({"filter_id": fid, "reason": "quota"}, u.rejected_records - u.too_large),
                                                          ({"filter_id": fid, "reason": "too_large"}, u.too_large))])

        out.metric("alertflow_emails_sent_total", "counter", "E-mail digests the SMTP server accepted.",
                   self.emails.sent if self.emails else 0)
        out.metric("alertflow_emails_failed_total", "counter", "E-mail digest sends that failed (each is retried after a back-off).",
                   self.emails.failures if self.emails else 0)
        out.histogram("alertflow_alert_to_record_seconds",
                      "Seconds from an alert's Kafka timestamp to the production of a filter record it caused.", self.latency)
        out.metric("alertflow_consumer_lag", "gauge",
                   "Messages between this worker's consumer position and the high watermark, per assigned partition of the alert and e-mail topics.",
                   [({"topic": topic, "partition": partition}, n) for (topic, partition), n in sorted((lag or {}).items())])
        return out.text()
