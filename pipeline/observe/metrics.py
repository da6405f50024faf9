"""A worker's metrics for Prometheus, through prometheus_client: one registry per worker, not the global one.

Most values are not counted twice: they are read, when `/metrics` is scraped, from what the
worker already keeps: alerts and dead letters from `WorkerStats`, per-filter volume from the
`UsageBook` (this worker's own counters), e-mails from the digest agent, filters from the
registry, by a custom collector. Only the alert-to-record latency histogram is fed from the hot
path (a prometheus_client Histogram). Each `WorkerMetrics` has a `CollectorRegistry` of its own,
so a process (or a test) can hold several workers and nothing is counted twice. The histogram
adds prometheus_client's standard `alertflow_alert_to_record_seconds_created` (its start time).

Per-filter counters run from the worker's start. `UsageBook` starts a fresh `own` dict at 00:00
UTC (the quota day) and drops the old one without clearing it; `sync()` notices the new dict and
carries the old day's final values forward, so the counters never go down. `sync()` must run at
least once a day (every scrape does, and `agents/worker/metrics_page.py` adds a timer for idle times).

Consumer lag is a broker position minus the consumer's position. On Tansu (the embedded default)
the high watermark is the base offset of the last record batch + 1, not the log end, so lag reads
low there and may come out negative: it is clamped at 0. On Kafka and Redpanda it is exact.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.usage import Usage, UsageBook
from .stats import WorkerStats

CONTENT_TYPE = "text/plain; version=0.0.4"  # what generate_latest writes; aiohttp adds "; charset=utf-8"

# 1 ms .. 60 s: a record normally follows its alert within a batch (0.2 s); seconds mean a backlog.
LATENCY_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

TopicPartition = tuple[str, int]


class EmailCounters(Protocol):
    """What the metrics read from the digest agent (`agents.worker.digest_agent.Digests`)."""

    sent: int
    failures: int


def consumer_lag(progress: Mapping[TopicPartition, tuple[int | None, int | None]]) -> dict[TopicPartition, int]:
    """{(topic, partition): (position, highwater)} -> {(topic, partition): lag}, never below 0.

    Partitions whose position or highwater is not known yet (no fetch so far) are left out.
    Tansu under-reports the highwater for batched produce (see the module docstring): clamped.
    """
    return {tp: max(0, int(high) - int(pos)) for tp, (pos, high) in progress.items() if pos is not None and high is not None}


def counter(name: str, help: str, labels: tuple[str, ...] = (), samples: Iterator[tuple[tuple[Any, ...], float]] | None = None,
            value: float = 0) -> CounterMetricFamily:
    """A counter family: one value, or (label values, value) pairs."""
    if not labels:
        return CounterMetricFamily(name, help, value=value)
    family = CounterMetricFamily(name, help, labels=labels)
    for values, n in samples or ():
        family.add_metric([str(v) for v in values], n)
    return family


def gauge(name: str, help: str, labels: tuple[str, ...], samples: Iterator[tuple[tuple[Any, ...], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help, labels=labels)
    for values, n in samples:
        family.add_metric([str(v) for v in values], n)
    return family


class WorkerMetrics:
    """The metrics of one worker process; `render()` gives a scrape's text."""

    def __init__(self, stats: WorkerStats, usage: UsageBook, registry: FilterRegistry, emails: EmailCounters | None = None,
                 latency_buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.stats = stats
        self.usage = usage
        self.registry = registry
        self.emails = emails
        self.prometheus = CollectorRegistry(auto_describe=False)
        self.latency = Histogram("alertflow_alert_to_record_seconds",
                                 "Seconds from an alert's Kafka timestamp to the production of a filter record it caused.",
                                 buckets=latency_buckets, registry=self.prometheus)
        self.prometheus.register(WorkerCollector(self))
        self.lag: Mapping[TopicPartition, int] = {}  # as of the scrape being rendered
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
        self.lag = lag or {}
        return generate_latest(self.prometheus).decode()


class WorkerCollector(Collector):
    """Every metric but the latency histogram, built at scrape time from what the worker keeps."""

    def __init__(self, metrics: WorkerMetrics):
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        failures = dict(m.stats.dead_lettered)
        yield counter("alertflow_alerts_consumed_total",
                      "Alerts read from the alert topic and decoded; messages that failed are in alertflow_decode_failures_total.",
                      value=m.stats.alerts)
        yield counter("alertflow_decode_failures_total", "Alert-topic messages that could not be decoded or featurised, by reason.",
                      ("reason",), (((reason,), n) for reason, n in sorted(failures.items())))
        yield counter("alertflow_dead_lettered_total", "Messages put on the dead-letter topic.", value=sum(failures.values()))

        active = m.registry.active()
        totals = m.filter_totals()
        per = {fid: totals.get(fid) or Usage() for fid in sorted(set(totals) | set(active))}
        yield GaugeMetricFamily("alertflow_active_filters", "Active filters this worker runs.", value=len(active))
        yield gauge("alertflow_filter_info", "Every filter this worker knows, with its name, user, mode, topic and state.",
                    ("filter_id", "name", "user", "mode", "topic", "active"),
                    (((r.id, r.name, r.user, r.mode, r.topic if r.streams_to_kafka else "", "true" if r.active else "false"), 1)
                     for r in sorted(m.registry.records.values(), key=lambda r: r.id)))
        yield counter("alertflow_filter_matches_total", "Alerts that matched a filter (Kafka and e-mail filters).",
                      ("filter_id",), (((fid,), u.matches) for fid, u in per.items()))
        yield counter("alertflow_filter_records_total", "Records produced to a filter's topic.",
                      ("filter_id",), (((fid,), u.records) for fid, u in per.items()))
        yield counter("alertflow_filter_bytes_total", "Bytes of the records produced to a filter's topic, as the producer counts them.",
                      ("filter_id",), (((fid,), u.bytes) for fid, u in per.items()))
        yield counter("alertflow_filter_rejected_total",
                      "Records not produced: over the filter's daily byte quota, or larger than the broker accepts.",
                      ("filter_id", "reason"), (s for fid, u in per.items() for s in (((fid, "quota"), u.rejected_records - u.too_large),
                                                                                      ((fid, "too_large"), u.too_large))))

        yield counter("alertflow_emails_sent_total", "E-mail digests the SMTP server accepted.", value=m.emails.sent if m.emails else 0)
        yield counter("alertflow_emails_failed_total", "E-mail digest sends that failed (each is retried after a back-off).",
                      value=m.emails.failures if m.emails else 0)
        yield gauge("alertflow_consumer_lag",
                    "Messages between this worker's consumer position and the high watermark, per assigned partition of the alert and e-mail topics.",
                    ("topic", "partition"), (((topic, partition), n) for (topic, partition), n in sorted(m.lag.items())))
