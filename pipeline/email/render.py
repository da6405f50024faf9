"""A filter's pending matches as one e-mail: a plain-text and an HTML table, newest first.

Field names (SQL aliases) and string values come from users, so every cell is stripped of
control characters and, in the HTML part, escaped.
"""
from __future__ import annotations

import datetime as dt
import html
import math
import re
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from pipeline.streams.filter_record import FilterRecord
from .digest import DigestState, EmailMatch, digest_id

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def format_value(value: Any) -> str:
    """A cell's text: NULL for None, floats to 6 significant digits but never fewer than 6 decimals.

    Six decimals keep RA/Dec to a few milli-arcseconds and an MJD to a tenth of a second.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        integer_digits = max(0, math.floor(math.log10(abs(value))) + 1)
        return format(value, f".{min(6 + integer_digits, 17)}g")
    return "0" if value == 0 else _one_line(str(value))


def _one_line(text: str) -> str:
    return _CONTROL.sub(" ", text)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _name(record: FilterRecord) -> str:
    return " ".join(record.name.split())  # a header must stay on one line


def _subject(record: FilterRecord, state: DigestState) -> str:
    """Names the filter and counts distinct objects; matches beyond the cap are counted apart."""
    text = f'alertflow: "{_name(record)}": {_count(state.objects, "object", "objects")}'
    return text + (f" (+{_count(state.more, 'more match', 'more matches')})" if state.more else "")


def _columns(pending: Sequence[EmailMatch]) -> list[str]:
    """Selected fields in output order; a filter edited since the first match adds its new ones."""
    return list(dict.fromkeys(name for match in pending for name in match.fields))


def _cells(match: EmailMatch, columns: Sequence[str]) -> list[str]:
    return [match.utc, *(format_value(match.fields.get(name)) for name in columns)]


def _summary(record: FilterRecord, state: DigestState) -> str:
    matches = _count(len(state.pending) + state.more, "match", "matches")
    objects = ("at least " if state.more else "") + _count(state.objects, "object", "objects")
    return f'Filter "{_name(record)}": {matches} of {objects}, newest first.'


def _more_line(state: DigestState) -> str:
    return f"and {_count(state.more, 'more match', 'more matches')} not shown (the oldest)."


FOOTER = ("At most one e-mail per filter per 24 hours: later matches are gathered into the next one. "
          "Filter id {id}.")


def _text(record: FilterRecord, state: DigestState, columns: Sequence[str], object_url: str) -> str:
    header = ["UTC", *map(_one_line, columns), "link"]
    grid = [header, *([*_cells(m, columns), object_url.format(diaObjectId=m.diaObjectId)] for m in state.pending)]
    widths = [max(map(len, column)) for column in zip(*grid, strict=True)]
    table = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in grid]
    more = [_more_line(state), ""] if state.more else []
    return "\n".join([_summary(record, state), "", *table, "", *more, FOOTER.format(id=record.id)]) + "\n"


def _html(record: FilterRecord, state: DigestState, columns: Sequence[str], object_url: str) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(_one_line(name))}</th>" for name in ["UTC", *columns, "link"])
    body = "\n".join(
        "<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in _cells(m, columns))
        + f'<td><a href="{esc(object_url.format(diaObjectId=m.diaObjectId))}">{esc(str(m.diaObjectId))}</a></td></tr>'
        for m in state.pending)
    more = f"<p>{esc(_more_line(state))}</p>\n" if state.more else ""
    return (f"<!DOCTYPE html>\n<html><body>\n<p>{esc(_summary(record, state))}</p>\n"
            f'<table border="1" cellpadding="4" style="border-collapse:collapse">\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody></table>\n"
            f"{more}<p><small>{esc(FOOTER.format(id=record.id))}</small></p>\n</body></html>\n")


def render_digest(record: FilterRecord, state: DigestState, *, mail_from: str, object_url: str,
                  now: float) -> EmailMessage:
    """The digest of `state`'s pending matches, addressed to the filter's owner.

    The Message-ID comes from the digest id, so a resend after a crash can be recognised.
    """
    if not record.email:
        raise ValueError(f"filter {record.id} has no e-mail address")
    if not state.pending:
        raise ValueError(f"filter {record.id} has no pending matches to e-mail")
    columns = _columns(state.pending)
    message = EmailMessage()
    message["Subject"] = _subject(record, state)
    message["From"] = mail_from
    message["To"] = record.email
    message["Date"] = format_datetime(dt.datetime.fromtimestamp(now, dt.timezone.utc))
    message["Message-ID"] = f"<{digest_id(state)}@{parseaddr(mail_from)[1].rpartition('@')[2] or 'alertflow'}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to digests
    message.set_content(_text(record, state, columns, object_url))
    message.add_alternative(_html(record, state, columns, object_url), subtype="html")
    return message
