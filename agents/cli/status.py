"""`run.py status`: every filter's day so far and the worker group's lag, read from the broker.

Nothing here asks a worker: the filters come from the registry topic, today's volume from the
usage topic (every worker's latest published counters, summed), pending e-mail digests from the
digest table's changelog topic, and the lag from the group's committed offsets. So it works with
any number of workers, or none, and it creates no topic and joins no group.
"""
from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from agents.kafka.admin import group_progress
from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.reachable import BrokerUnreachable, check_reachable
from pipeline.settings import Settings
from pipeline.streams.filter_record import FilterRecord
from pipeline.streams.usage import Usage, UsageBook, utc_day
from .needs_broker import lacks_broker

DIGEST_TABLE = "digests"  # the Faust table's name in agents/worker/digest_agent.py; its changelog is <app_id>-<name>-changelog
STATUS_TIMEOUT = 60.0
NAME_WIDTH = 32


def digest_changelog_topic(settings: Settings) -> str:
    return f"{settings.app_id}-{DIGEST_TABLE}-changelog"


@dataclass
class StatusReport:
    bootstrap: str
    day: str
    filters: list[FilterRecord]
    usage: dict[str, Usage]
    pending: dict[str, int]  # filter id -> matches waiting for its digest (shown + counted beyond the cap)
    group: str
    topic: str
    progress: dict[int, tuple[int, int]] = field(default_factory=dict)  # partition -> (committed, end)


class DigestSizes:
    """Handler of the digest changelog: the latest state per filter id, reduced to its size."""

    def __init__(self) -> None:
        self.pending: dict[str, int] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        try:
            decoded = orjson.loads(key)
        except orjson.JSONDecodeError:
            decoded = key.decode()
        filter_id = decoded if isinstance(decoded, str) else str(decoded)
        if value is None:
            self.pending.pop(filter_id, None)
            return
        state = orjson.loads(value) or {}
        self.pending[filter_id] = len(state.get("pending") or ()) + int(state.get("more") or 0)


class Filters:
    """Handler of the registry topic: records only (status compiles no SQL)."""

    def __init__(self) -> None:
        self.records: dict[str, FilterRecord] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self.records.pop(key.decode(), None)
        else:
            self.records[key.decode()] = FilterRecord.from_json(value)


async def existing_topics(kafka: KafkaConnection) -> set[str]:
    admin = AIOKafkaAdminClient(**kafka.options(), client_id="alertflow-status")
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def collect(settings: Settings, kafka: KafkaConnection) -> StatusReport:
    check_reachable(kafka)
    filters, sizes = Filters(), DigestSizes()
    usage = UsageBook("status", time.time)
    handlers = {settings.registry_topic: filters.apply, settings.usage_topic: usage.apply, digest_changelog_topic(settings): sizes.apply}
    existing = await existing_topics(kafka)
    handlers = {topic: handler for topic, handler in handlers.items() if topic in existing}
    if handlers:  # CompactedReader needs at least one partition; a fresh broker has none of these topics
        await CompactedReader(kafka, handlers, client_id="alertflow-status").read_all()
    progress = await group_progress(kafka, settings.app_id, settings.alert_topic)
    return StatusReport(settings.bootstrap, utc_day(time.time()), sorted(filters.records.values(), key=lambda r: (r.user, r.name, r.id)),
                        usage.totals(), sizes.pending, settings.app_id, settings.alert_topic, progress)


def human_bytes(n: float) -> str:
    """Decimal units, as quotas are set: 100000000 -> '100 MB'."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            text = f"{n / size:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    return f"{int(n)} B"


def quota_text(used: int, quota: int) -> str:
    if quota <= 0:
        return f"{human_bytes(used)} / {human_bytes(quota)}"
    percent = 100 * used / quota
    shown = "<1" if 0 < percent < 1 else f"{percent:.0f}"
    return f"{human_bytes(used)} / {human_bytes(quota)} ({shown}%)"


def utc_text(when: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when)) if when else "-"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return [line(header)] + [line(r) for r in rows]


def short(text: str, width: int = NAME_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


FILTER_HEADER = ("id", "name", "mode", "active", "topic", "matches", "records", "bytes / quota", "rejected",
                 "last record (UTC)", "pending digest")


def filter_row(record: FilterRecord, usage: Usage | None, pending: int | None) -> list[str]:
    u = usage or Usage()
    common = [record.id, short(record.name), record.mode, "yes" if record.active else "no",
              record.topic if record.streams_to_kafka else "-", str(u.matches)]
    if record.streams_to_kafka:
        return common + [str(u.records), quota_text(u.bytes, record.quota_bytes), str(u.rejected_records), utc_text(u.last_record), "-"]
    return common + ["-", "-", "-", "-", str(pending or 0)]


def render(report: StatusReport) -> str:
    lines = [f"broker {report.bootstrap}, UTC day {report.day} (counts are today's, summed over every worker's last report)", ""]
    if report.filters:
        rows = [filter_row(r, report.usage.get(r.id), report.pending.get(r.id)) for r in report.filters]
        lines += table(FILTER_HEADER, rows, right={5, 6, 8, 10})
    else:
        lines.append("no filters")
    lines += ["", f"consumer group {report.group} on {report.topic}"]
    if not report.progress:
        lines.append(f"no partitions: topic {report.topic} does not exist")
        return "\n".join(lines)
    rows, clamped = [], False
    for partition, (committed, end) in sorted(report.progress.items()):
        clamped |= end < committed
        rows.append([str(partition), str(committed), str(end), str(max(0, end - committed))])
    total_committed = sum(c for c, _ in report.progress.values())
    total_end = sum(e for _, e in report.progress.values())
    total_lag = sum(max(0, e - c) for c, e in report.progress.values())
    rows.append(["total", str(total_committed), str(total_end), str(total_lag)])
    lines += table(("partition", "committed", "end", "lag"), rows, right={1, 2, 3})
    if clamped:
        lines.append("(lag shown as 0 where the broker reports an end before the committed offset: Tansu reports the"
                     " last record batch's base offset + 1 as the end)")
    return "\n".join(lines)


async def status(settings: Settings, timeout: float = STATUS_TIMEOUT) -> str:
    """The status text; BrokerUnreachable (one line) when the broker cannot be reached or does not answer."""
    try:
        return render(await asyncio.wait_for(collect(settings, KafkaConnection.from_settings(settings)), timeout))
    except asyncio.TimeoutError:
        raise BrokerUnreachable(f"the broker at {settings.bootstrap} did not answer within {timeout:.0f} s") from None
    except KafkaError as error:
        raise BrokerUnreachable(f"broker at {settings.bootstrap}: {error}") from None


def status_text(settings: Settings) -> str:
    """`status` for synchronous callers."""
    return asyncio.run(status(settings))


def run_status(settings: Settings) -> int:
    """`run.py status`: print the tables; one line on stderr and exit status 1 if the broker is not there."""
    if lacks_broker("status", settings):
        return 2
    try:
        print(status_text(settings))
    except BrokerUnreachable as error:
        print(f"status: {error}", file=sys.stderr)
        return 1
    return 0
