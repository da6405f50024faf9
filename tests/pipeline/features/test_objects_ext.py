"""objects_ext values: the diaObject's fields as Lasair copies them."""
from __future__ import annotations

import math

from pipeline.decode.alert import normalise
from pipeline.features.objects_ext import OBJECTS_EXT_COLUMNS, objects_ext_values
from pipeline.synthetic.alerts import synthetic_alerts


def test_copied_from_the_synthetic_diaobject() -> None:
    for record in synthetic_alerts(20, seed=3):
        dia_object = record["diaObject"]
        values = objects_ext_values(dia_object)
        assert list(values) == [c.name for c in OBJECTS_EXT_COLUMNS]
        for c in OBJECTS_EXT_COLUMNS:
            raw = dia_object[c.name]
            if raw is None or (isinstance(raw, float) and math.isnan(raw)):
                assert values[c.name] is None
            elif c.sql_type == "int":
                assert values[c.name] == raw and type(values[c.name]) is int
            else:
                assert values[c.name] == raw


def test_nan_none_absent_and_int() -> None:
    values = objects_ext_values({"raErr": float("nan"), "decErr": None, "g_psfFluxNdata": 7.0, "validityStartMjdTai": 60000.5})
    assert (values["raErr"], values["decErr"], values["g_psfFluxNdata"], values["validityStartMjdTai"], values["u_psfFluxMax"]) == (None, None, 7, 60000.5, None)
    assert type(values["g_psfFluxNdata"]) is int
    assert set(objects_ext_values(None).values()) == {None}


def test_from_a_normalised_alert() -> None:
    record = next(iter(synthetic_alerts(1, seed=5)))
    alert = normalise(record, None)
    assert objects_ext_values(alert.diaObject)["raErr"] == record["diaObject"]["raErr"]
