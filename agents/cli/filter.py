"""`run.py filter ...`: check, dry-run and manage filters from the command line."""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import asdict
from pathlib import Path

from agents.kafka.connection import KafkaConnection
from agents.kafka.reachable import check_reachable
from agents.store.filters import FilterAdmin, ProducerSend, load_state
from agents.store.watchlists import refused_references_of
from pipeline.decode.wire import DecodeError, read_alerts
from pipeline.features.ingest import Ingested, with_features
from pipeline.filters import FilterError
from pipeline.settings import Settings
from pipeline.streams.dry_run import records_for
from pipeline.streams.filter_record import FilterRecord, InvalidFilter, create, filter_sql, updated
from pipeline.streams.usage import Usage
from pipeline.streams.validation import parse_filter_request, user_id
from pipeline.users.admission import claim_topic
from pipeline.users.watchlist_views import OPERATOR, operator_viewer
from .choices import YES_NO
from .filter_check import check
from .filter_context import test_context
from .needs_broker import lacks_broker

NEEDS_BROKER = {"add", "update", "delete", "list", "show"}


def run_filter_command(args: argparse.Namespace, settings: Settings) -> int:
    if args.action == "check":
        status = check(args.sql)
        if status == 0 and settings.bootstrap:
            status = asyncio.run(warn_references(args, settings))
        return status
    if args.action == "test":
        return test_command(args, settings)
    if args.action == "add":
        try:
            args.sql = filter_sql(args.sql, args.select, args.tables, args.where, settings.tns_watchlist_id)
        except (InvalidFilter, FilterError) as error:
            print(f"refused: {error}", file=sys.stderr)
            return 2
    if lacks_broker(f"filter {args.action}", settings):
        return 2
    try:
        return asyncio.run(manage(args, settings))
    except (InvalidFilter, FilterError) as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2


def test_command(args: argparse.Namespace, settings: Settings) -> int:
    try:
        record = create(settings.topic_prefix, "0", "test", args.sql, args.mode)
    except FilterError:
        return check(args.sql)  # prints where and why
    items: list[Ingested] = []
    for path in args.files:
        try:
            items.extend(with_features(alert) for alert in read_alerts(Path(path)))
        except (DecodeError, OSError) as error:
            print(f"error: {path}: {error}", file=sys.stderr)
            return 1
    context, present = test_context(args, settings, items)
    found = records_for(record, items, context)
    for shown in found[: args.limit]:
        sys.stdout.buffer.write(shown.value + b"\n")
    rate = len(found) / len(items) if items else 0.0
    print(f"matched {len(found)} of {len(items)} alerts ({100 * rate:.1f}%)", file=sys.stderr)
    print(f"context: {present}", file=sys.stderr)
    return 0


def describe(record: FilterRecord, usage: Usage | None) -> str:
    usage = usage or Usage()
    last = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(usage.last_record)) if usage.last_record else "-"
    lines = [f"{k:<14}{v}" for k, v in asdict(record).items() if k not in ("created", "updated")]
    lines += [
        f"{'created':<14}{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(record.created))} UTC",
        f"{'updated':<14}{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(record.updated))} UTC",
        f"{'today':<14}{usage.matches} matches, {usage.records} records, {usage.bytes} bytes of {record.quota_bytes}"
        f" ({100 * usage.bytes / record.quota_bytes:.1f}%), last record {last}",
        f"{'rejected':<14}{usage.rejected_records} records, {usage.rejected_bytes} bytes"
        f" ({usage.too_large} larger than the broker accepts)",
    ]
    return "\n".join(lines)


def changes_from(args: argparse.Namespace) -> dict:
    """`filter update`'s flags given, as the HTTP API's request body: both are checked by `parse_filter_request`."""
    changes = {k: getattr(args, k) for k in ("name", "mode", "sql", "email", "description", "quota_bytes")}
    changes.update({k: YES_NO[getattr(args, k)] for k in ("active", "public") if getattr(args, k)})
    return {k: v for k, v in changes.items() if v is not None}


def added_from(args: argparse.Namespace) -> dict:
    """`filter add`'s flags as the HTTP API's request body."""
    body = {"name": args.name, "sql": args.sql, "mode": args.mode, "description": args.description, "public": args.public}
    body.update({k: getattr(args, k) for k in ("email", "quota_bytes") if getattr(args, k) is not None})
    return body


async def warn_references(args: argparse.Namespace, settings: Settings) -> int:
    """`filter check` with a broker: a warning for each watchlist or area the filter names that does not
    exist (or, with --user, that the user may not see)."""
    kafka = KafkaConnection.from_settings(settings)
    check_reachable(kafka)
    viewer = operator_viewer(args.user) if args.user else OPERATOR
    for problem in await refused_references_of(settings, kafka, args.sql, viewer):
        print(f"warning: {problem}: saving it would be refused")
    return 0


async def check_references(settings: Settings, kafka: KafkaConnection, sql: str, owner: str) -> None:
    """Refuse (InvalidFilter) a filter naming watchlists or areas that do not exist or its owner may not see."""
    problems = await refused_references_of(settings, kafka, sql, operator_viewer(owner))
    if problems:
        raise InvalidFilter("; ".join(problems))


async def manage(args: argparse.Namespace, settings: Settings) -> int:
    kafka = KafkaConnection.from_settings(settings)
    check_reachable(kafka)
    registry, usage = await load_state(settings, kafka)
    totals = usage.totals()
    if args.action == "list":
        for r in sorted(registry.records.values(), key=lambda r: (r.user, r.name)):
            state = "active" if r.active else "inactive"
            print(f"{r.id}  user {r.user:<6} {r.mode:<6} {state:<8} {r.topic or '-':<40} {r.name}")
        return 0
    if args.action != "add":
        old = registry.records.get(args.id)
        if old is None:
            print(f"no filter {args.id}", file=sys.stderr)
            return 1
        if args.action == "show":
            print(describe(old, totals.get(old.id)))
            return 0
    # the same checks as the HTTP API's, before anything is written (InvalidFilter: one line, exit 2)
    if args.action == "add":
        owner, fields = str(user_id("user", args.user)), parse_filter_request(added_from(args), creating=True)
        name, sql, mode = fields.pop("name"), fields.pop("sql"), fields.pop("mode")
        claim_topic(registry.records.values(), create(settings.topic_prefix, owner, name, sql, mode, **fields))
    elif args.action == "update":
        changes = parse_filter_request(changes_from(args), creating=False)
        claim_topic(registry.records.values(), updated(old, settings.topic_prefix, **changes))
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        admin = FilterAdmin(settings, kafka, send)
        if args.action in ("add", "update") and (args.action == "add" or args.sql):
            await check_references(settings, kafka, args.sql, args.user if args.action == "add" else old.user)
        if args.action == "add":
            record, seeded = await admin.add(owner, name, sql, mode, **fields)
            print(f"filter {record.id} topic {record.topic or '-'} ({seeded} records seeded)")
        elif args.action == "update":
            record, seeded = await admin.update(old, **changes)
            print(f"filter {record.id} v{record.version} topic {record.topic or '-'} ({seeded} records seeded)")
        elif args.action == "delete":
            await admin.delete(old)
            print(f"filter {old.id} deleted")
    return 0
