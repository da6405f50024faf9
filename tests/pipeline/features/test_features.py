"""The `objects` row: hand-made light curves with hand-worked answers, edge cases, the sample."""
from __future__ import annotations

import math
from typing import Any

import fastavro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.decode.alert import Alert, normalise
from pipeline.features.columns import COLUMN_NAMES, INTEGER_COLUMNS, STRING_COLUMNS
from pipeline.features.htm import htm_id
from pipeline.features.objects import NULL_COLUMNS, blackbody_flux_ratio, blackbody_temperature, objects_row
from pipeline.features.sky import galactic_latitude

SAMPLE = "/work/shared/rubin/samples/v11_0_fakeAlert.avro"
NAN = float("nan")


def source(i: int, mjd: float, band: str, flux: float, reliability: float | None = 0.9, **extra: Any) -> dict:
    return {
        "diaSourceId": i,
        "diaObjectId": 42,
        "midpointMjdTai": mjd,
        "ra": 150.0,
        "dec": 2.0,
        "band": band,
        "psfFlux": flux,
        "psfFluxErr": 10.0,
        "reliability": reliability,
        **extra,
    }


def forced(i: int, mjd: float, band: str, flux: float) -> dict:
    return {"diaForcedSourceId": i, "diaObjectId": 42, "midpointMjdTai": mjd, "band": band,
            "psfFlux": flux, "psfFluxErr": 10.0, "ra": 150.0, "dec": 2.0}


def make_alert(sources: list[dict], dia_object: dict | None, forced_sources: list[dict] | None = None) -> Alert:
    return Alert(
        diaSourceId=sources[-1]["diaSourceId"],
        schema_id=1100,
        diaObject=dia_object,
        diaSourcesList=sorted(sources, key=lambda s: s["midpointMjdTai"]),
        diaForcedSourcesList=list(forced_sources or []),
    )


# Seven diaSources over four MJDs. Cerro Pachón nights run ~23:00-10:00 UTC, i.e. MJD
# fractions .96 -> .42, so night = floor(mjd - 0.5) is shown beside each.
LIGHT_CURVE = [
    source(1, 61000.02, "r", 1500.0, 0.9),  # night 60999, pair with #2 (0.02 d = 29 min)
    source(2, 61000.04, "g", 1000.0, 0.8),  # night 60999
    source(3, 61001.10, "r", -200.0, 0.3),  # night 61000, negative flux
    source(4, 61002.05, "i", NAN, 0.6),  # night 61001, NaN flux
    source(5, 61002.98, "g", 2000.0, None),  # night 61002, null reliability; pair with #6
    source(6, 61003.00, "r", 2500.0, 0.7),  # night 61002
    source(7, 61003.30, "z", 300.0, 0.95, ra=150.001, dec=2.001),  # night 61002
]
DIA_OBJECT = {
    "diaObjectId": 42,
    "ra": 150.0,
    "dec": 2.0,
    "nDiaSources": 7,
    "firstDiaSourceMjdTai": 61000.02,
    "lastDiaSourceMjdTai": 61003.30,
    "g_psfFluxMean": 1500.0,
    "g_psfFluxMeanErr": 10.0,
    "r_psfFluxMean": NAN,
    "r_psfFluxMeanErr": None,
}
FORCED = [forced(100 + k, 60990.0 + k, "g", 1e6) for k in range(10)]


@pytest.fixture
def row() -> dict[str, Any]:
    return objects_row(make_alert(LIGHT_CURVE, DIA_OBJECT, FORCED))


def test_row_has_exactly_the_columns_in_order(row):
    assert tuple(row) == COLUMN_NAMES
    assert len(row) == 65


def test_lsst_columns_copied_from_dia_object(row):
    assert row["diaObjectId"] == 42
    assert (row["ra"], row["decl"]) == (150.0, 2.0)
    assert row["nDiaSources"] == 7
    assert (row["firstDiaSourceMjdTai"], row["lastDiaSourceMjdTai"]) == (61000.02, 61003.30)
    assert (row["g_psfFluxMean"], row["g_psfFluxMeanErr"]) == (1500.0, 10.0)
    assert row["r_psfFluxMean"] is None  # NaN in, NULL out
    assert row["r_psfFluxMeanErr"] is None and row["u_psfFluxMean"] is None


def test_latest_flux_per_band(row):
    assert row["latest_psfFlux"] == 300.0  # #7
    assert (row["g_psfFlux"], row["g_latestMJD"]) == (2000.0, 61002.98)  # #5, not #2
    assert (row["r_psfFlux"], row["r_latestMJD"]) == (2500.0, 61003.00)  # #6, not #1 or #3
    assert (row["z_psfFlux"], row["z_latestMJD"]) == (300.0, 61003.30)
    assert (row["i_psfFlux"], row["i_latestMJD"]) == (None, 61002.05)  # a NaN flux: NULL, with its MJD (Lasair)
    for band in "uy":
        assert (row[f"{band}_psfFlux"], row[f"{band}_latestMJD"]) == (None, None)


def test_counts(row):
    # Every source counts in its band (the NaN-flux i source too): g #2 #5, r #1 #3 #6, i #4, z #7.
    assert [row[f"n{b}Sources"] for b in "ugrizy"] == [0, 2, 3, 1, 1, 0]
    # psfFlux > 0: #1 #2 #5 #6 #7 (#3 negative, #4 NaN).
    assert row["nPosDiaSources"] == 5
    # Their nights: 60999, 60999, 61002, 61002, 61002 -> 2. (floor(mjd) would say 3:
    # 61000, 61002, 61003, splitting the night of #5-#7 at 00:00 UTC.)
    assert row["nPosDiaSourcesNights"] == 2


def test_reliability(row):
    # Known reliabilities in time order: .9 .8 .3 .6 (#5 null) .7 .95.
    # Sorted .3 .6 .7 .8 .9 .95 -> median (.7 + .8) / 2 = .75; latest known .95 (#7);
    # > 0.5: .9 .8 .6 .7 .95 -> 5.
    assert row["medianR"] == pytest.approx(0.75)
    assert row["latestR"] == 0.95
    assert row["nSourcesGood"] == 5


def test_pair_colours(row):
    # Extinction-corrected as Lasair: each flux times 10^(0.4 E(B-V) A_band/E(B-V)), so the colour
    # loses E(B-V) (3.237 - 2.273) = 0.964 E(B-V) and the ratio gains 10^(0.4 * 0.964 E(B-V)).
    ebv = row["ebv"]
    assert ebv > 0.0
    gain = 10 ** (0.4 * 0.964 * ebv)
    # Latest pair #5 g 2000 / #6 r 2500: MJD of the later, 61003.00;
    # g-r = -2.5 log10(2000/2500) - 0.964 E(B-V) = 0.242275 - 0.964 E(B-V).
    assert row["latestPairMJD"] == 61003.00
    assert row["latestPairColourBands"] == "g-r"
    assert row["latestPairColourMag"] == pytest.approx(0.242275 - 0.964 * ebv, abs=1e-6)
    # Penultimate: #1 r 1500 then #2 g 1000 (#2-#3 and #3-#5 are too far apart in time):
    # g-r = -2.5 log10(1000/1500) - 0.964 E(B-V) = 0.440228 - 0.964 E(B-V), blue band first.
    assert row["penultimatePairMJD"] == 61000.04
    assert row["penultimatePairColourBands"] == "g-r"
    assert row["penultimatePairColourMag"] == pytest.approx(0.440228 - 0.964 * ebv, abs=1e-6)
    # Temperatures reproduce the corrected flux ratios; redder pair -> cooler.
    assert blackbody_flux_ratio(row["latestPairColourTemp"], "g", "r") == pytest.approx(0.8 * gain, rel=1e-7)
    assert blackbody_flux_ratio(row["penultimatePairColourTemp"], "g", "r") == pytest.approx(2 / 3 * gain, rel=1e-7)
    assert 5.0 < row["penultimatePairColourTemp"] < row["latestPairColourTemp"]


def test_blackbody_temperature():
    # T = 10 kK, Lasair's g (0.50 um) / r (0.62 um), hc/k = 14.387 um kK:
    # (0.62/0.50)^3 = 1.906624; e^(14.387/6.2) - 1 = 9.18060; e^(14.387/5.0) - 1 = 16.76802;
    # ratio = 1.906624 * 9.18060 / 16.76802 = 1.04389.
    assert blackbody_flux_ratio(10.0, "g", "r") == pytest.approx(1.04389, abs=2e-5)
    ratio = blackbody_flux_ratio(10.0, "g", "r")
    assert blackbody_temperature(ratio, "g", "r") == pytest.approx(10.0, rel=1e-7)
    # Bluer than any blackbody: above the Rayleigh-Jeans limit (0.62/0.50)^2 = 1.5376.
    assert blackbody_temperature(2.0, "g", "r") is None


def test_pair_needs_positive_fluxes_and_different_bands():
    sources = [
        source(1, 61000.00, "g", 1000.0),
        source(2, 61000.01, "g", 1100.0),  # same band as #1
        source(3, 61000.02, "r", -50.0),  # negative: no colour with #2 or #4
        source(4, 61000.03, "i", 900.0),
    ]
    row = objects_row(make_alert(sources, DIA_OBJECT))
    pair_columns = [c for c in COLUMN_NAMES if "Pair" in c]
    assert all(row[c] is None for c in pair_columns)


def test_pairs_may_share_a_source_as_in_lasair():
    sources = [
        source(1, 61000.00, "g", 1000.0),
        source(2, 61000.01, "r", 1000.0),
        source(3, 61000.02, "g", 2000.0),
    ]
    row = objects_row(make_alert(sources, DIA_OBJECT))
    shift = 0.964 * row["ebv"]  # E(B-V) (A_g - A_r) / E(B-V), see test_pair_colours
    # Latest #2 r 1000 / #3 g 2000: g-r = -2.5 log10(2000/1000) - shift = -0.752575 - shift, MJD 61000.02.
    # Its later detection is the bluer band: Lasair loses this pair (an unset starting temperature).
    assert row["latestPairMJD"] == 61000.02
    assert row["latestPairColourMag"] == pytest.approx(-0.752575 - shift, abs=1e-6)
    assert row["latestPairColourTemp"] is None  # f_g/f_r = 2 is bluer than any blackbody (limit 1.5376)
    # Lasair's scan goes on one source back: #1/#2 shares #2 and is the penultimate pair, g-r = 0 - shift.
    assert row["penultimatePairMJD"] == 61000.01
    assert row["penultimatePairColourMag"] == pytest.approx(-shift, abs=1e-6)


def test_no_jump_without_a_baseline(row):
    assert (row["jump1"], row["jump2"]) == (0.0, 0.0)  # Lasair writes 0.0, not NULL


def test_forced_sources_do_not_change_the_row(row):
    # Lasair's objects features use diaSources only (forced photometry feeds only the BBB fit).
    assert objects_row(make_alert(LIGHT_CURVE, DIA_OBJECT)) == row


# Jump light curve: latest diaSource at T = 62000; ages in days.
T = 62000.0
JUMP_CURVE = (
    [source(10 + k, T - age, "g", f) for k, (age, f) in enumerate(
        [(80, 1e6), (60, 100.0), (50, 110.0), (40, 90.0), (30, 105.0), (20, 95.0), (5, 140.0), (0, 180.0)])]
    + [source(30 + k, T - age, "r", f) for k, (age, f) in enumerate(
        [(65, 200.0), (55, 200.0), (45, 200.0), (35, 210.0), (25, 190.0), (2, 150.0)])]
    + [source(50 + k, T - age, "i", f) for k, (age, f) in enumerate(
        [(61, 10.0), (51, 20.0), (41, 30.0), (31, 40.0), (3, 1000.0)])]
)


def test_jumps():
    # g baseline (ages 10-70; the age-80 1e6 is too old): 100 110 90 105 95 -> mean 100,
    #   squares 0+100+100+25+25 = 250, sd = sqrt(250/4) = 7.905694;
    #   recent is 0 < age < 10 (Lasair): 140 (age 5) only, the triggering 180 (age 0) is not
    #   -> |140 - 100| = 40 -> 40/7.905694 = 5.059644 (with the age-0 point it would be 10.119289).
    # r baseline 200 200 200 210 190 -> mean 200, sd = sqrt(200/4) = 7.071068;
    #   recent 150 -> 50/7.071068 = 7.071068.
    # i has only 4 baseline points (< 5): no jump however large its recent flux.
    row = objects_row(make_alert(JUMP_CURVE, DIA_OBJECT, [forced(1, T - 30 - k, "r", 1e7) for k in range(9)]))
    assert row["jump1"] == pytest.approx(7.071068, abs=1e-6)
    assert row["jump2"] == pytest.approx(5.059644, abs=1e-6)


def test_jump2_needs_a_second_band():
    curve = [s for s in JUMP_CURVE if s["diaSourceId"] != 35]  # drop r's recent point
    row = objects_row(make_alert(curve, DIA_OBJECT))
    assert row["jump1"] == pytest.approx(5.059644, abs=1e-6)
    assert row["jump2"] == 0.0


def test_flat_baseline_gives_no_jump():
    curve = [source(k, T - age, "g", 100.0) for k, age in enumerate((60, 50, 40, 30, 20))]
    curve += [source(8, T - 3, "g", 500.0), source(9, T, "g", 500.0)]
    row = objects_row(make_alert(curve, DIA_OBJECT))
    assert (row["jump1"], row["jump2"]) == (0.0, 0.0)  # sd 0: Lasair divides by zero; 0.0 here


def test_without_dia_object_there_is_no_row():
    # A solar-system source: Lasair writes no `objects` row for it.
    assert objects_row(make_alert(LIGHT_CURVE, None)) is None


def test_null_dia_object_fields_fall_back_to_sources():
    obj = dict(DIA_OBJECT, firstDiaSourceMjdTai=None, lastDiaSourceMjdTai=NAN, ra=NAN)
    row = objects_row(make_alert(LIGHT_CURVE, obj))
    assert (row["firstDiaSourceMjdTai"], row["lastDiaSourceMjdTai"]) == (61000.02, 61003.30)
    assert (row["ra"], row["decl"]) == (150.001, 2.001)
    assert row["nDiaSources"] == 7  # still the diaObject's


def test_all_nan_input_gives_nulls():
    sources = [source(1, 61000.0, "g", NAN, NAN, ra=NAN, dec=NAN)]
    row = objects_row(make_alert(sources, dict(DIA_OBJECT, ra=NAN, dec=None)))
    assert row["latest_psfFlux"] is None and row["g_psfFlux"] is None and row["g_latestMJD"] == 61000.0
    assert row["ebv"] is None
    assert (row["medianR"], row["latestR"], row["nSourcesGood"]) == (None, None, 0)
    assert (row["ra"], row["decl"], row["glat"], row["htm16"]) == (None, None, None, None)
    assert (row["ngSources"], row["nPosDiaSources"], row["nPosDiaSourcesNights"]) == (1, 0, 0)


@pytest.mark.parametrize("alert", [
    make_alert(LIGHT_CURVE, DIA_OBJECT, FORCED),
    make_alert(JUMP_CURVE, DIA_OBJECT),
    make_alert([source(1, 61000.0, "g", NAN, NAN, ra=NAN, dec=NAN)], dict(DIA_OBJECT, ra=NAN, dec=NAN)),
])
def test_types_and_no_nan(alert):
    row = objects_row(alert)
    for name, value in row.items():
        if value is None:
            continue
        if name in INTEGER_COLUMNS:
            assert type(value) is int, name
        elif name in STRING_COLUMNS:
            assert type(value) is str, name
        else:
            assert type(value) is float and math.isfinite(value), name


def test_null_columns_are_null(row):
    assert set(NULL_COLUMNS) <= set(COLUMN_NAMES)
    assert all(row[c] is None for c in NULL_COLUMNS)
    assert all(reason for reason in NULL_COLUMNS.values())


# Galactic latitude; expected values checked against astropy (ICRS -> Galactic).
@pytest.mark.parametrize("ra, dec, b", [
    (266.40499, -28.93617, 0.0),  # Galactic centre
    (192.85948, 27.1283, 90.0),  # north Galactic pole (Lasair's)
    (12.85948, -27.1283, -90.0),  # south Galactic pole
    (83.63308, 22.01450, -5.784359),  # Crab nebula
    (150.0, 2.0, 41.905110),
])
def test_galactic_latitude(ra, dec, b):
    assert galactic_latitude(ra, dec) == pytest.approx(b, abs=1e-4)


@pytest.mark.parametrize("ra, dec, root", [
    (45, 45, 15), (135, 45, 14), (225, 45, 13), (315, 45, 12),  # N3 N2 N1 N0
    (45, -45, 8), (135, -45, 9), (225, -45, 10), (315, -45, 11),  # S0 S1 S2 S3
])
def test_htm_roots(ra, dec, root):
    assert htm_id(ra, dec, 0) == root


# Depth-20 HTM ids of catalogue stars (lsst-sims/legacy_sims_utils tests/testData/
# htmid_test_data.txt, ids from the "fatboy" database; sims_utils calls this "level 21").
@pytest.mark.parametrize("ra, dec, htm20", [
    (145.47257, -55.7813218, 10259322830548),
    (212.031586, -60.6917234, 11454167830929),
    (269.795956, -27.5301901, 11701670181575),
    (273.034517, -11.9576305, 12123050923567),
    (274.380954, 5.5497478, 13756849185355),
    (336.053043, 24.8484789, 13280518702556),
    (296.94269, 34.605562, 14051260575551),
])
def test_htm_known_ids(ra, dec, htm20):
    assert htm_id(ra, dec, 20) == htm20
    assert htm_id(ra, dec, 16) == htm20 >> 8  # four levels fewer, two bits each


@given(st.floats(0.0, 360.0), st.floats(-90.0, 90.0))
def test_htm16_shape_and_nesting(ra, dec):
    h16 = htm_id(ra, dec, 16)
    assert h16.bit_length() == 36 and 8 <= h16 >> 32 <= 15
    assert h16 >> 2 == htm_id(ra, dec, 15)
    assert h16 >> 32 == htm_id(ra, dec, 0)


def test_row_htm16_and_glat(row):
    assert row["htm16"] == htm_id(150.0, 2.0, 16)
    assert row["glat"] == pytest.approx(41.905110, abs=1e-4)


def test_sample_alert():
    with open(SAMPLE, "rb") as f:
        record = next(iter(fastavro.reader(f)))
    row = objects_row(normalise(record, 1100))
    assert row["diaObjectId"] == 281323062375219201
    assert (row["ra"], row["decl"]) == (351.570546978, 0.126243049656)
    assert row["nDiaSources"] == 2  # the diaObject's own count, though 3 diaSources came
    assert row["firstDiaSourceMjdTai"] == 60900.993305483615
    # Three r sources of 1241 nJy on MJD 60900.99, 60901.99, 60902.99: nights 60900-60902.
    assert (row["latest_psfFlux"], row["r_psfFlux"]) == (1241.0, 1241.0)
    assert row["r_latestMJD"] == 60902.993305483615
    assert [row[f"n{b}Sources"] for b in "ugrizy"] == [0, 0, 3, 0, 0, 0]
    assert (row["nPosDiaSources"], row["nPosDiaSourcesNights"]) == (3, 3)
    assert (row["medianR"], row["latestR"], row["nSourcesGood"]) == (None, None, 0)  # reliability null
    assert row["latestPairMJD"] is None and row["jump1"] == 0.0
    assert row["glat"] == pytest.approx(-55.919331, abs=1e-6)  # Lasair's pole; astropy (IAU pole) gives -55.9193687
    assert row["htm16"] >> 32 == 12  # root N0: ra 351.6 -> x > 0, y < 0; dec 0.13 -> z > 0
