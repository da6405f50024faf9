"""A user's watchlist file: one source per line, read all-or-nothing.

Each line is `ra, dec, name[, radius]` (Lasair's order). The separator is that of the first
non-comment line: a comma (CSV, so a quoted name may hold commas), else `|` (Lasair accepts it),
else whitespace. Lines starting with `#` and blank lines are skipped. The first line may be a
header naming the columns (ra, dec, name, radius and common aliases), in any order.

Positions are decimal degrees or sexagesimal: RA in hours `12:34:56.7`, Dec in degrees
`-12:34:56`. Inside a comma or `|` field the parts may also be separated by spaces
(`12 34 56.7`); in a whitespace-separated file they need colons, since spaces split the fields.
A radius (arcsec) that is missing, empty or "none" means the watchlist's default radius; it is
kept as NaN so a later change of the default applies to those sources, as in Lasair.

Any bad line stops the read with one line saying where and why; nothing is returned.
"""
from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .bounded_file import read_bounded
from .watchlist_limits import MAX_FILE_BYTES, MAX_NAME_CHARS, MAX_RADIUS_ARCSEC, MAX_SOURCES

COLUMNS = ("ra", "dec", "name", "radius")
_ALIASES = {
    "ra": ("ra", "raj2000", "ra_j2000", "ra_deg", "radeg", "ra(deg)"),
    "dec": ("dec", "decl", "de", "dej2000", "decj2000", "dec_j2000", "dec_deg", "decdeg", "dec(deg)"),
    "name": ("name", "id", "objectid", "object", "source", "cone"),
    "radius": ("radius", "radius_arcsec", "radius(arcsec)", "r", "rad"),
}
_HEADER_WORDS = {alias: column for column, aliases in _ALIASES.items() for alias in aliases}
_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
_SEXAGESIMAL = re.compile(r"^([+-]?)(\d{1,3})(?::\s*|\s+)(\d{1,2})(?::\s*|\s+)(\d{1,2}(?:\.\d*)?)$")
_NOT_PRINTABLE_ASCII = re.compile(r"[^\x20-\x7e]")


class WatchlistFileError(ValueError):
    """A file that cannot become a watchlist; the message is one line: where and why."""


@dataclass(frozen=True, eq=False)
class Sources:
    """A watchlist's sources as columns, in file order (a source's index is its cone number)."""

    ra: np.ndarray  # degrees, [0, 360)
    dec: np.ndarray  # degrees
    radius: np.ndarray  # arcsec; NaN = the watchlist's default radius
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.names)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Sources) and self.names == other.names and np.array_equal(self.ra, other.ra)
                and np.array_equal(self.dec, other.dec) and np.array_equal(self.radius, other.radius, equal_nan=True))


def read_watchlist_file(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> Sources:
    """The sources in the file at `path`, refused by its size before it is read."""
    return parse_watchlist(read_bounded(path, max_bytes, "a watchlist file", WatchlistFileError), max_bytes)


def parse_watchlist(data: bytes, max_bytes: int = MAX_FILE_BYTES) -> Sources:
    """The sources in an uploaded file's bytes (UTF-8 text)."""
    if len(data) > max_bytes:
        raise WatchlistFileError(f"the file is over {max_bytes:,} bytes, the limit for a watchlist file")
    text = _utf8(data)
    ra: list[float] = []
    dec: list[float] = []
    radius: list[float] = []
    names: list[str] = []
    kind, split = "", str.split
    order: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not kind:
            kind, split = _splitter(line)
            order = _header(split(line), number)
            if order:
                continue
        fields = split(line)
        if len(names) == MAX_SOURCES:
            raise WatchlistFileError(f"line {number}: more than {MAX_SOURCES:,} sources; a watchlist holds at most {MAX_SOURCES:,}")
        try:
            values = _columns(fields, order, kind)
            ra.append(_angle(values["ra"], hours=True, name="right ascension", low=0.0, high=360.0) % 360.0)
            dec.append(_angle(values["dec"], hours=False, name="declination", low=-90.0, high=90.0))
            names.append(_name(values["name"]))
            radius.append(_radius(values.get("radius", "")))
        except ValueError as e:
            raise WatchlistFileError(f"line {number}: {e}") from None
    if not names:
        raise WatchlistFileError("the file holds no sources (only comments, blank lines or a header)" if text.strip() else "the file is empty")
    return Sources(np.array(ra), np.array(dec), np.array(radius), tuple(names))


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise WatchlistFileError(f"line {line}: not UTF-8 text (byte 0x{data[e.start]:02x}); save the file as UTF-8 or ASCII") from None


def _splitter(line: str) -> tuple[str, Callable[[str], list[str]]]:
    """How every line of the file splits into fields, chosen by its first line, and its name for messages."""
    if "," in line:
        return "comma-separated", lambda text: [f.strip() for f in next(csv.reader([text], skipinitialspace=True))]
    if "|" in line:
        return "|-separated", lambda text: [f.strip() for f in text.split("|")]
    return "whitespace-separated", str.split


def _header(fields: list[str], number: int) -> tuple[str, ...]:
    """The column order a header line gives, or () if the line is data (it starts like a number)."""
    if not fields or not fields[0][:1].isalpha():
        return ()
    order = []
    for field in fields:
        column = _HEADER_WORDS.get(field.lower())
        if column is None:
            raise WatchlistFileError(f"line {number}: header column {field!r} is not one of {', '.join(COLUMNS)}")
        if column in order:
            raise WatchlistFileError(f"line {number}: header names the {column} column twice")
        order.append(column)
    missing = [c for c in COLUMNS[:3] if c not in order]
    if missing:
        raise WatchlistFileError(f"line {number}: header has no {missing[0]} column (it needs ra, dec, name and may have radius)")
    return tuple(order)


def _columns(fields: list[str], order: tuple[str, ...], kind: str) -> dict[str, str]:
    if order:
        if len(fields) != len(order):
            raise ValueError(f"expected {len(order)} {kind} fields ({', '.join(order)}) as the header says, found {len(fields)}")
        return dict(zip(order, fields))
    if len(fields) not in (3, 4):
        raise ValueError(f"expected 3 or 4 {kind} fields (ra, dec, name[, radius]), found {len(fields)}")
    return dict(zip(COLUMNS, fields))


def _angle(text: str, hours: bool, name: str, low: float, high: float) -> float:
    """Degrees from decimal degrees, or from sexagesimal hours (RA) / degrees (Dec)."""
    if _DECIMAL.match(text):
        value = float(text)
    else:
        match = _SEXAGESIMAL.match(text)
        if not match:
            unit = "h:m:s" if hours else "d:m:s"
            raise ValueError(f"{name} {text!r} is neither decimal degrees nor {unit}")
        sign, whole, minutes, seconds = match.group(1), int(match.group(2)), int(match.group(3)), float(match.group(4))
        if minutes >= 60 or seconds >= 60 or (hours and whole >= 24):
            raise ValueError(f"{name} {text!r} has a field out of range ({'hours < 24, ' if hours else ''}minutes and seconds < 60)")
        value = (whole + minutes / 60 + seconds / 3600) * (15 if hours else 1) * (-1 if sign == "-" else 1)
    if not low <= value <= high:
        raise ValueError(f"{name} {text} is outside {low:g}..{high:g} degrees")
    return value


def _name(text: str) -> str:
    """Lasair strips non-ASCII characters from names; control characters go too (they would break listings)."""
    name = _NOT_PRINTABLE_ASCII.sub("", text).strip()
    if not name:
        raise ValueError("the name is empty" + (" after removing non-ASCII characters" if text.strip() else ""))
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"name {name[:MAX_NAME_CHARS]}... is {len(name)} characters; the limit is {MAX_NAME_CHARS}")
    return name


def _radius(text: str) -> float:
    if text == "" or text.lower() == "none":
        return math.nan
    if not _DECIMAL.match(text):
        raise ValueError(f"radius {text!r} is not a number of arcsec (or none for the watchlist's default)")
    value = float(text)
    if not 0 < value <= MAX_RADIUS_ARCSEC:
        raise ValueError(f"radius {text} arcsec is outside the allowed range (over 0, at most {MAX_RADIUS_ARCSEC:g})")
    return value
