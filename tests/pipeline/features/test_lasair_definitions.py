"""Where Lasair's definitions differ from the obvious ones, the row follows Lasair (issue 18).

Values are worked out by hand from Lasair's feature code (pipeline/filter/alert/features/ of
lsst-uk/lasair-lsst): util.getFluxTimeBand drops a source whose psfFlux is null and keeps one
whose psfFlux is NaN; counting, latestFlux and pair work on what it returns.
"""
from __future__ import annotations

import pytest

from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.features.ingest import ingest
from pipeline.features.objects import blackbody_flux_ratio, objects_row
from pipeline.settings import Settings
from pipeline.streams.fanout import find_matches
from pipeline.streams.filter_record import create
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.synthetic.alerts import encode_wire, synthetic_alerts
from .test_features import DIA_OBJECT, NAN, make_alert, source


def test_a_null_psf_flux_drops_that_source_from_counts_and_reliability():
    sources = [
        source(1, 61000.0, "g", 100.0, 0.9),
        source(2, 61001.0, "g", None, 0.8),  # null psfFlux: not counted anywhere
        source(3, 61002.0, "r", 200.0, 0.2),
        source(4, 61003.0, "r", 300.0, 0.7),
    ]
    row = objects_row(make_alert(sources, DIA_OBJECT))
    # Counted: #1 g, #3 r, #4 r -> g 1, r 2 (3 g with #2).
    assert [row[f"n{b}Sources"] for b in "ugrizy"] == [0, 1, 2, 0, 0, 0]
    # Reliabilities .9 .2 .7: median .7 (with #2's .8 it would be (.7 + .8) / 2 = .75); > 0.5: .9 .7 -> 2.
    assert row["medianR"] == pytest.approx(0.7)
    assert row["nSourcesGood"] == 2
    assert row["latestR"] == 0.7
    assert (row["g_psfFlux"], row["g_latestMJD"]) == (100.0, 61000.0)
    assert row["nDiaSources"] == 7  # lsst columns are still the diaObject's


def test_a_nan_psf_flux_on_the_triggering_source_gives_null_flux_with_its_mjd():
    sources = [
        source(1, 61000.0, "g", 100.0, 0.9),
        source(2, 61001.0, "r", 250.0, 0.9),
        source(3, 61002.0, "g", NAN, 0.4),  # the triggering source
    ]
    row = objects_row(make_alert(sources, DIA_OBJECT))
    # The latest g is #3: its flux is NULL and its MJD is #3's (not #1's 100 at 61000).
    assert (row["g_psfFlux"], row["g_latestMJD"]) == (None, 61002.0)
    assert row["latest_psfFlux"] is None
    assert (row["r_psfFlux"], row["r_latestMJD"]) == (250.0, 61001.0)
    # #3 still counts: g 2, r 1; its reliability .4 too: median of .9 .9 .4 = .9, latest .4.
    assert [row[f"n{b}Sources"] for b in "gr"] == [2, 1]
    assert (row["medianR"], row["latestR"], row["nSourcesGood"]) == (pytest.approx(0.9), 0.4, 2)
    assert row["nPosDiaSources"] == 2  # NaN is not > 0


def test_a_hot_pair_lasair_loses_has_a_temperature_here():
    # r then g, 14 minutes apart, f_g / f_r = 1.4 before extinction. Lasair's Newton iteration for
    # the temperature starts at 12 kK and its first step goes negative (ratio 1.4: 12 - 17.19 =
    # -5.19 kK; the extinction-corrected ~1.425: about -2.5 kK), so Lasair writes no pair at all;
    # here the colour and the temperature are filled.
    sources = [source(1, 61000.00, "r", 1000.0), source(2, 61000.01, "g", 1400.0)]
    row = objects_row(make_alert(sources, DIA_OBJECT))
    shift = 0.964 * row["ebv"]  # E(B-V) (A_g - A_r) / E(B-V): Schlafly & Finkbeiner (2011) 3.237 - 2.273
    # g-r = -2.5 log10(1.4) - shift = -0.365321 - shift.
    assert row["latestPairColourBands"] == "g-r"
    assert row["latestPairColourMag"] == pytest.approx(-0.365321 - shift, abs=1e-6)
    corrected_ratio = 1.4 * 10 ** (0.4 * shift)
    assert blackbody_flux_ratio(row["latestPairColourTemp"], "g", "r") == pytest.approx(corrected_ratio, rel=1e-7)
    assert row["latestPairColourTemp"] > 30.0  # hot: 1.4 is close to the Rayleigh-Jeans limit 1.5376


def test_a_pair_with_a_negative_flux_takes_the_latest_slot_without_a_colour():
    sources = [
        source(1, 61000.00, "g", 1000.0),
        source(2, 61000.01, "r", 800.0),
        source(3, 61000.02, "i", -5.0),
    ]
    row = objects_row(make_alert(sources, DIA_OBJECT))
    # Lasair's latest pair is #2/#3: no colour of a negative flux, so its columns are NULL;
    # #1/#2 is the penultimate pair: g-r = -2.5 log10(1000/800) - shift = -0.242275 - shift.
    assert (row["latestPairMJD"], row["latestPairColourMag"]) == (None, None)
    assert row["penultimatePairMJD"] == 61000.01
    assert row["penultimatePairColourMag"] == pytest.approx(-0.242275 - 0.964 * row["ebv"], abs=1e-6)


def test_a_solar_system_alert_is_ingested_but_matches_no_filter():
    resolver = SchemaResolver(Settings().schema_dir, "")
    alerts = list(synthetic_alerts(3, seed=3))
    alerts[1]["diaObject"] = None  # a solar-system source: no diaObject
    items = [ingest(encode_wire(a), resolver) for a in alerts]
    assert items[1].row is None and items[1].alert.diaSourceId == alerts[1]["diaSourceId"]
    assert items[0].row is not None and items[2].row is not None
    # A filter that an all-NULL row would pass: it matches the other two alerts, never the second.
    registry = FilterRegistry()
    record = create("lasair_", "1", "no name", "SELECT diaObjectId FROM objects WHERE tns_name IS NULL", "plain")
    registry.apply(record.id.encode(), record.to_json())
    [match] = find_matches(registry, items)
    assert match.rows == [0, 2]
