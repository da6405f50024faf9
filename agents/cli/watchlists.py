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
from pipeline.context.watchlist_limits import DEFAULT_RADIUS_ARCSEC
from pipeline.context.watchlist_record import InvalidWatchlist
from pipeline.settings import Settings
from pipeline.users.watchlist_views import area_fields, watchlist_fields

REFUSALS = (WatchlistFileError, AreaFileError, InvalidWatchlist, InvalidArea, UnknownRecord)
YES_NO = {"yes": True, "no": False}


def add_parsers(command: Callable[..., argparse.ArgumentParser], record_id: Callable[[str], int]) -> None:
    """The `watchlist` and `area` commands, added through main's `command(name, func, help)`."""
    w = command("watchlist", cmd_watchlist, "add, list, show, change and delete users' watchlists (sources matched on every alert)")
    ws = w.add_subparsers(dest="action", required=True)
    wa = ws.add_parser("add", help="save a watchlist from a file of ra, dec, name[, radius] lines; prints its id")
    wa.add_argument("--user", required=True, help="the owner's user id")
    wa.add_argument("--name", required=True)
    wa.add_argument("file")
    wa.add_argument("--radius", type=float, default=DEFAULT_RADIUS_ARCSEC, help=f"default radius, arcsec (default {DEFAULT_RADIUS_ARCSEC:g})")
    wa.add_argument("--public", action="store_true")
    wa.add_argument("--description", default="")
    ws.add_parser("list", help="every watchlist, a line each")
    for action in ("show", "delete"):
        ws.add_parser(action, help=f"{action} one watchlist").add_argument("id", type=record_id)
    wu = ws.add_parser("update", help="change a watchlist's settings or (--file) its sources")
    wu.add_argument("id", type=record_id)
    wu.add_argument("--name")
    wu.add_argument("--radius", type=float)
    wu.add_argument("--description")
    wu.add_argument("--public", choices=YES_NO)
    wu.add_argument("--active", choices=YES_NO)
    wu.add_argument("--file", help="replace the sources with this file's")
    a = command("area", cmd_area, "add, list, show and delete users' areas (MOCs matched on every alert)")
    asub = a.add_subparsers(dest="action", required=True)
    aa = asub.add_parser("add", help="save an area from a MOC file (FITS, JSON or ASCII); prints its id")
    aa.add_argument("--user", required=True, help="the owner's user id")
    aa.add_argument("--name", required=True)
    aa.add_argument("file")
    aa.add_argument("--public", action="store_true")
    aa.add_argument("--description", default="")
    asub.add_parser("list", help="every area, a line each")
    for action in ("show", "delete"):
        asub.add_parser(action, help=f"{action} one area").add_argument("id", type=record_id)


def cmd_watchlist(args: argparse.Namespace) -> int:
    return _run(args, _watchlist)


def cmd_area(args: argparse.Namespace) -> int:
    return _run(args, _area)


def _run(args: argparse.Namespace, action: Callable[[argparse.Namespace, Settings, WatchlistStore], object]) -> int:
    settings = Settings.from_env(bootstrap=getattr(args, "bootstrap", None))  # as main's settings_from
    if not settings.bootstrap:
        print(f"{args.command} {args.action}: needs a running broker: --bootstrap HOST:PORT or ALERTFLOW_BOOTSTRAP", file=sys.stderr)
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
