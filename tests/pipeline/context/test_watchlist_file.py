"""Watchlist files: what a user uploads, what they get back (sources, or one line saying where and why)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from pipeline.context.watchlist_file import WatchlistFileError, parse_watchlist, read_watchlist_file
from pipeline.context.watchlist_limits import MAX_NAME_CHARS, MAX_SOURCES


def parse(text: str):
    return parse_watchlist(text.encode())


def test_lasair_csv_with_comments_default_radii_and_non_ascii_names():
    sources = parse("# my galaxies\n10.5, -20.25, NGC 1, 5\n\n 200.0,45,M87é,none\n30,0,abc,\n")
    assert sources.names == ("NGC 1", "M87", "abc")
    assert sources.ra.tolist() == [10.5, 200.0, 30.0]
    assert sources.dec.tolist() == [-20.25, 45.0, 0.0]
    assert sources.radius[0] == 5.0 and math.isnan(sources.radius[1]) and math.isnan(sources.radius[2])


def test_pipe_and_whitespace_separators():
    assert parse("10|20|a|3\n11 | 21 | b\n").names == ("a", "b")
    whitespace = parse("10 20 a 3\n11\t21  b\n12:00:00 -30:00:00 c\n")
    assert whitespace.names == ("a", "b", "c")
    assert whitespace.ra.tolist() == [10.0, 11.0, 180.0] and whitespace.dec.tolist() == [20.0, 21.0, -30.0]


def test_sexagesimal_with_colons_or_spaces_inside_fields():
    sources = parse("12:34:56.7, -12:34:56, a\n12 34 56.7, -00 30 00, b\n00:00:00,+89:59:59.9,c\n")
    assert sources.ra[0] == pytest.approx(188.73625, abs=1e-12) and sources.ra[1] == pytest.approx(188.73625, abs=1e-12)
    assert sources.dec[0] == pytest.approx(-(12 + 34 / 60 + 56 / 3600), abs=1e-12)
    assert sources.dec[1] == -0.5  # the sign of -00 applies to the minutes
    assert sources.dec[2] == pytest.approx(89 + 59 / 60 + 59.9 / 3600, abs=1e-12)


def test_header_line_names_columns_in_any_order_and_ra_360_wraps():
    sources = parse("Name,RA,Dec,Radius\nfirst,360,10,2\nsecond,1.5,-3,\n")
    assert sources.names == ("first", "second") and sources.ra.tolist() == [0.0, 1.5] and sources.radius[0] == 2.0


def test_quoted_csv_name_keeps_its_comma():
    assert parse('1,2,"NGC 1, core"\n').names == ("NGC 1, core",)


@pytest.mark.parametrize("text, message", [
    ("", "the file is empty"),
    ("# only a comment\nra,dec,name\n", "the file holds no sources (only comments, blank lines or a header)"),
    ("1,2,a\n3,4\n", "line 2: expected 3 or 4 comma-separated fields (ra, dec, name[, radius]), found 2"),
    ("1 2 a 4 extra\n", "line 1: expected 3 or 4 whitespace-separated fields (ra, dec, name[, radius]), found 5"),
    ("1,2,a\n# fine\n10, 95, b\n", "line 3: declination 95 is outside -90..90 degrees"),
    ("400,2,a\n", "line 1: right ascension 400 is outside 0..360 degrees"),
    ("24:00:00,2,a\n", "line 1: right ascension '24:00:00' has a field out of range (hours < 24, minutes and seconds < 60)"),
    ("1,12:61:00,a\n", "line 1: declination '12:61:00' has a field out of range (minutes and seconds < 60)"),
    ("abc1,2,a\n", "line 1: header column 'abc1' is not one of ra, dec, name, radius"),
    ("1,2,a\n1e,2,b\n", "line 2: right ascension '1e' is neither decimal degrees nor h:m:s"),
    ("1,nan,a\n", "line 1: declination 'nan' is neither decimal degrees nor d:m:s"),
    ("1,2,a,3600\n", "line 1: radius 3600 arcsec is outside the allowed range (over 0, at most 1800)"),
    ("1,2,a,0\n", "line 1: radius 0 arcsec is outside the allowed range (over 0, at most 1800)"),
    ("1,2,a,wide\n", "line 1: radius 'wide' is not a number of arcsec (or none for the watchlist's default)"),
    ("1,2,ééé\n", "line 1: the name is empty after removing non-ASCII characters"),
    ("1,2,  \n", "line 1: the name is empty"),
    ("1,2," + "x" * 40 + "\n", f"line 1: name {'x' * MAX_NAME_CHARS}... is 40 characters; the limit is {MAX_NAME_CHARS}"),
    ("ra,dec\n1,2\n", "line 1: header has no name column (it needs ra, dec, name and may have radius)"),
    ("ra,dec,name,ra\n", "line 1: header names the ra column twice"),
    ("name,ra,dec\na,1,2,3\n", "line 2: expected 3 comma-separated fields (name, ra, dec) as the header says, found 4"),
])
def test_bad_file_gives_one_line_and_nothing(text: str, message: str):
    with pytest.raises(WatchlistFileError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_non_utf8_names_its_line():
    with pytest.raises(WatchlistFileError, match=r"^line 2: not UTF-8 text \(byte 0xe9\); save the file as UTF-8 or ASCII$"):
        parse_watchlist(b"1,2,a\n3,4,caf\xe9\n")


def test_too_many_sources_stops_at_the_first_one_over():
    lines = "".join(f"{i % 360},0,s{i}\n" for i in range(MAX_SOURCES + 1))
    with pytest.raises(WatchlistFileError, match=rf"^line {MAX_SOURCES + 1}: more than 100,000 sources; a watchlist holds at most 100,000$"):
        parse(lines)
    assert len(parse("ra,dec,name\n" + lines.rsplit("\n", 2)[0] + "\n")) == MAX_SOURCES


def test_a_2_gb_file_is_refused_by_its_size_before_it_is_read(tmp_path: Path):
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as f:
        f.write(b"1,2,a\n")
        f.truncate(2 * 1024 ** 3)  # sparse: no 2 GB on disk
    with pytest.raises(WatchlistFileError) as caught:
        read_watchlist_file(huge)
    assert str(caught.value) == f"{huge}: 2,147,483,648 bytes; a watchlist file may hold at most 16,777,216"


def test_byte_limit_applies_to_uploaded_bytes_too(tmp_path: Path):
    with pytest.raises(WatchlistFileError, match=r"^the file is over 10 bytes, the limit for a watchlist file$"):
        parse_watchlist(b"1,2,a\n3,4,b\n", max_bytes=10)
    small = tmp_path / "small.csv"
    small.write_bytes(b"1,2,a\n")
    assert read_watchlist_file(small, max_bytes=6).names == ("a",)


def test_missing_file_is_one_line(tmp_path: Path):
    with pytest.raises(WatchlistFileError, match=r"^.*nothing.csv: cannot read it \(No such file or directory\)$"):
        read_watchlist_file(tmp_path / "nothing.csv")


def test_sources_are_float64_columns_in_file_order():
    sources = parse("1,2,a\n3,4,b\n")
    assert sources.ra.dtype == sources.dec.dtype == sources.radius.dtype == np.float64
