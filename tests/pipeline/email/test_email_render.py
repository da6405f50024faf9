"""The digest e-mail: MIME shape, subject, newest-first tables with links, escaping, the cap line."""
from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

import pytest

from pipeline.email.digest import DigestState, EmailMatch, add_match, digest_id
from pipeline.email.render import format_value, render_digest
from pipeline.streams.filter_record import FilterRecord

START = 1_767_225_600.0
URL = "https://objects.example/{diaObjectId}/"
EVIL_ALIAS = "<script>alert('alias')</script>"
EVIL_VALUE = '"><img src=x onerror=alert(1)>'

RECORD = FilterRecord(id="abc123", user="7", name="Bright & fast", sql="SELECT ...", mode="email",
                      topic="", email="astro@example.org")


def state_of(matches: list[tuple[int, int, dict]], max_rows: int = 100) -> DigestState:
    state = DigestState("abc123")
    for i, (obj, source, fields) in enumerate(matches):
        at = START + 60 * i
        state = add_match(state, EmailMatch("abc123", 1, obj, source, fields, f"2026-01-01 00:{i:02d}:00", at),
                          at, max_rows)
    return state


def render(state: DigestState) -> EmailMessage:
    message = render_digest(RECORD, state, mail_from="alertflow@broker.example", object_url=URL, now=START + 3600)
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)  # as received


def parts(message: EmailMessage) -> tuple[str, str]:
    return (message.get_body(preferencelist=("plain",)).get_content(),
            message.get_body(preferencelist=("html",)).get_content())


THREE = [(11, 101, {"diaObjectId": 11, "ra": 150.123456789, "g": 20.5}),
         (22, 102, {"diaObjectId": 22, "ra": 10.0, "g": None}),
         (11, 103, {"diaObjectId": 11, "ra": 150.2, "g": 19.25})]


def test_mime_structure_and_headers() -> None:
    state = state_of(THREE)
    message = render(state)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert (message["From"], message["To"]) == ("alertflow@broker.example", "astro@example.org")
    assert message["Subject"] == 'alertflow: "Bright & fast": 2 objects'  # distinct objects, not matches
    assert message["Message-ID"] == f"<{digest_id(state)}@broker.example>"
    assert message["Date"] == "Thu, 01 Jan 2026 01:00:00 +0000"


def test_tables_are_newest_first_with_values_and_links() -> None:
    text, html = parts(render(state_of(THREE)))
    rows = [line for line in text.splitlines() if line.startswith("2026-")]
    assert [row.split()[2:] for row in rows] == [
        ["11", "150.2", "19.25", URL.format(diaObjectId=11)],
        ["22", "10", "NULL", URL.format(diaObjectId=22)],
        ["11", "150.123457", "20.5", URL.format(diaObjectId=11)],
    ]
    assert "UTC" in text and "diaObjectId" in text
    html_rows = re.findall(r"<tr><td>(.*?)</tr>", html)
    assert [re.findall(r"<td>([^<]*)</td>", "<td>" + row)[:4] for row in html_rows] == [
        ["2026-01-01 00:02:00", "11", "150.2", "19.25"],
        ["2026-01-01 00:01:00", "22", "10", "NULL"],
        ["2026-01-01 00:00:00", "11", "150.123457", "20.5"],
    ]
    assert re.findall(r'<a href="([^"]+)">', html) == [URL.format(diaObjectId=o) for o in (11, 22, 11)]
    assert "more matches" not in text + html


def test_user_controlled_names_and_values_are_escaped() -> None:
    text, html = parts(render(state_of([(5, 500, {EVIL_ALIAS: EVIL_VALUE, "note": "two\nlines"})])))
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#x27;alias&#x27;)&lt;/script&gt;" in html
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert EVIL_VALUE in text and "two lines" in text  # plain text is shown as is, on one line


def test_capped_digest_states_the_rest_in_both_parts() -> None:
    matches = [(1000 + i, 5000 + i, {"diaObjectId": 1000 + i}) for i in range(30)]
    state = state_of(matches, max_rows=10)
    message = render(state)
    text, html = parts(message)
    assert message["Subject"] == 'alertflow: "Bright & fast": 10 objects (+20 more matches)'
    assert "and 20 more matches not shown" in text and "and 20 more matches not shown" in html
    assert text.count(URL.format(diaObjectId=1029)) == 1 and URL.format(diaObjectId=1019) not in text
    assert html.count("<tr><td>") == 10


def test_one_object_is_singular_and_the_name_stays_on_one_line() -> None:
    record = FilterRecord(id="abc123", user="7", name="two\nlines", sql="", mode="email", topic="", email="a@b.org")
    message = render_digest(record, state_of(THREE[:1]), mail_from="x@y.org", object_url=URL, now=START)
    assert message["Subject"] == 'alertflow: "two lines": 1 object'


def test_nothing_to_send_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="no pending matches"):
        render_digest(RECORD, DigestState("abc123"), mail_from="x@y.org", object_url=URL, now=START)


@pytest.mark.parametrize("value, text", [
    (None, "NULL"), (True, "true"), (42, "42"), (0.0, "0"), (21.34567891, "21.345679"),
    (60000.123456789, "60000.123457"), (0.000123456789, "0.000123457"), (1.5e-30, "1.5e-30"), (3e20, "3e+20"),
])
def test_values(value: object, text: str) -> None:
    assert format_value(value) == text
