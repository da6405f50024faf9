"""The stage table of `bench pipeline`: differences over the window, the rest as fetch/Faust, shares of the total."""
from __future__ import annotations

from agents.dev.stage_table import OUTSIDE, StageTable
from pipeline.observe.stages import STAGES


def stats(alerts: int, gc: float = 0.0, **seconds: float) -> dict:
    return {"alerts_processed": alerts, "stage_cpu_seconds": {name: seconds.get(name, 0.0) for name in STAGES}, "gc_cpu_seconds": gc}


def test_two_workers_window_differences_and_the_rest_outside_the_stages() -> None:
    before = [stats(100, gc=0.5, decode=1.0), stats(0)]
    after = [stats(1100, gc=0.75, decode=1.5, filters=0.25), stats(1000, gc=0.05, decode=0.5, produce=0.25)]
    table = StageTable.between(before, after, worker_cpu=[1.5, 1.5])
    assert table.alerts == 2000 and table.total == 3.0
    assert table.seconds == {OUTSIDE: 1.5, **dict.fromkeys(STAGES, 0.0), "decode": 1.0, "filters": 0.25, "produce": 0.25}
    lines = table.lines()
    assert "2,000 alerts" in lines[0]
    assert lines[2].split() == [OUTSIDE, "0.750", "50.0%"]
    assert lines[3].split() == ["decode", "0.500", "33.3%"]
    assert lines[-2].split() == ["total", "1.500", "100.0%"]
    assert lines[-1].startswith("    of which garbage collection 0.150 ms/alert (10.0%)")
