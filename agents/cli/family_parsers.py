"""The parsers of the `watchlist`, `area` and `user` commands, apart from their code: a command's
modules (mocpy, astropy, scipy) are imported only when that command runs, so every other command
starts fast."""
from __future__ import annotations

import argparse
from collections.abc import Callable

from pipeline.context.watchlist_limits import DEFAULT_RADIUS_ARCSEC
from .choices import YES_NO


def cmd_watchlist(args: argparse.Namespace) -> int:
    from .watchlists import cmd_watchlist as run

    return run(args)


def cmd_area(args: argparse.Namespace) -> int:
    from .watchlists import cmd_area as run

    return run(args)


def cmd_user(args: argparse.Namespace) -> int:
    from .users import cmd_user as run

    return run(args)


def add_watchlist_parsers(command: Callable[..., argparse.ArgumentParser], record_id: Callable[[str], int]) -> None:
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


def add_user_parsers(command: Callable[..., argparse.ArgumentParser],
                with_bootstrap: Callable[[argparse.ArgumentParser], argparse.ArgumentParser]) -> None:
    """The `user` command, added through main's `command(name, func, help)`; `--bootstrap` after an action too."""
    u = command("user", cmd_user, "the operator's users and their API tokens (the HTTP API only reads them)")
    usub = u.add_subparsers(dest="action", required=True)
    add = with_bootstrap(usub.add_parser("add", help="add a user; prints the new id and an API token, shown once"))
    add.add_argument("name")
    add.add_argument("--email")
    add.add_argument("--admin", action="store_true", help="may change every user's filters")
    with_bootstrap(usub.add_parser("token", help="issue a new API token (shown once), revoking the old")).add_argument("id")
    with_bootstrap(usub.add_parser("list", help="every user, a line each (never a token)"))
    with_bootstrap(usub.add_parser("disable", help="refuse the user's token from now on")).add_argument("id")


