"""`run.py watchlist ...` and `run.py area ...`: users' watchlists and areas from the command line.

The operator's tool: it sees and changes every watchlist and area, and `--user U` names the owner
of a new one. Files are read and checked whole before anything is sent (one line on stderr and
exit 2 for a bad file, a limit or an unknown id).
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from agents.kafka.connection import KafkaConnection
from agents.kafka.reachable import check_reachable
from agents.store.filters import ProducerSend
from agents.store.watchlists import UnknownRecord, WatchlistStore, load_books
from pipeline.context.areas import AreaFileError, InvalidArea, read_moc_file
from pipeline.context.watchlist_file import WatchlistFileError, read_watchlist_file
from pipeline.context.watchlist_record import InvalidWatchlist
from pipeline.settings import Settings
from pipeline.users.watchlist_views import area_fields, watchlist_fields
from .choices import YES_NO
from .needs_broker import lacks_broker

REFUSALS = (WatchlistFileError, AreaFileError, InvalidWatchlist, InvalidArea, UnknownRecord)


def cmd_watchlist(args: argparse.Namespace) -> int:
    return _run(args, _watchlist)


def cmd_area(args: argparse.Namespace) -> int:
    return _run(args, _area)


def _run(args: argparse.Namespace, action: Callable[[argparse.Namespace, Settings, WatchlistStore], object]) -> int:
    settings = Settings.from_env(bootstrap=getattr(args, "bootstrap", None))  # as main's settings_from
    if lacks_broker(f"{args.command} {args.action}", settings):
        return 2
    try:
        asyncio.run(_with_store(args, settings, action))
    except REFUSALS as error:
        print(f"{args.command} {args.action}: {error}", file=sys.stderr)
        return 2
    return 0


async def _with_store(args: argparse.Namespace, settings: Settings, action: Callable) -> None:
    kafka = KafkaConnection.from_settings(settings)
    check_reachable(kafka)
    # the file first: a bad one is refused before the broker is asked anything
    loaded = _file(args) if getattr(args, "file", None) else None
    books = await load_books(settings, kafka)
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        await action(args, loaded, WatchlistStore(settings, books, send))


def _file(args: argparse.Namespace) -> object:
    return read_watchlist_file(args.file) if args.command == "watchlist" else read_moc_file(args.file)


async def _watchlist(args: argparse.Namespace, sources: object, store: WatchlistStore) -> None:
    if args.action == "add":
        w = await store.add_watchlist(args.user, args.name, sources, args.radius, public=args.public, description=args.description)
        print(f"watchlist {w.id} saved: {len(w.sources):,} sources, default radius {w.radius:g} arcsec")
    elif args.action == "list":
        for w in sorted(store.books.watchlists.items.values(), key=lambda w: w.id):
            state = ("active" if w.active else "inactive") + (" public" if w.public else "")
            print(f"{w.id}  user {w.owner:<6} {len(w.sources):>7,} sources  {w.radius:g}\"  {state:<15} {w.name}")
    elif args.action == "show":
        fields = watchlist_fields(store.watchlist(args.id))
        print("\n".join(f"{k:<12}{v}" for k, v in fields.items()))
    elif args.action == "delete":
        await store.delete_watchlist(args.id)
        print(f"watchlist {args.id} deleted")
    else:
        changes = {k: getattr(args, k) for k in ("name", "radius", "description") if getattr(args, k) is not None}
        changes.update({k: YES_NO[getattr(args, k)] for k in ("public", "active") if getattr(args, k)})
        if sources is not None:
            changes["sources"] = sources
        w = await store.update_watchlist(args.id, **changes)
        print(f"watchlist {w.id} updated: {len(w.sources):,} sources (version {w.version})")


async def _area(args: argparse.Namespace, moc: object, store: WatchlistStore) -> None:
    if args.action == "add":
        a = await store.add_area(args.user, args.name, moc, public=args.public, description=args.description)
        print(f"area {a.id} saved: {100 * a.moc.sky_fraction:.4g}% of the sky")
    elif args.action == "list":
        for a in sorted(store.books.areas.items.values(), key=lambda a: a.id):
            state = ("active" if a.active else "inactive") + (" public" if a.public else "")
            print(f"{a.id}  user {a.owner:<6} {100 * a.moc.sky_fraction:>8.4g}% of the sky  {state:<15} {a.name}")
    elif args.action == "show":
        print("\n".join(f"{k:<13}{v}" for k, v in area_fields(store.area(args.id)).items()))
    else:
        await store.delete_area(args.id)
        print(f"area {args.id} deleted")
