"""The `filter check` helper and the filter benchmark."""
from __future__ import annotations

import io

from agents.cli.filter_check import check, main
from pipeline.filters.bench import bench_filters, format_bench, random_filter_sql, random_rows


def test_check_prints_the_compiled_filter() -> None:
    out = io.StringIO()
    status = check("select objects.diaObjectId, objects.ra as r from objects "
                   "where objects.nDiaSources >= 3 order by ra limit 5", out)
    text = out.getvalue()
    assert status == 0
    assert "SELECT\n      objects.diaObjectId," in text
    assert "output fields: diaObjectId, r" in text
    assert "columns: diaObjectId, nDiaSources, ra" in text
    assert "warning: ORDER BY is ignored" in text and "warning: LIMIT is ignored" in text


def test_check_prints_the_error_with_position_and_suggestions() -> None:
    out = io.StringIO()
    status = check("SELECT ra FROM objects\nWHERE objects.nDiaSource >= 3", out)
    lines = out.getvalue().splitlines()
    assert status == 2
    assert lines[0] == "error at line 2, column 7: unknown column 'nDiaSource'"
    assert lines[1:3] == ["    WHERE objects.nDiaSource >= 3", "          ^"]
    assert lines[3].startswith("did you mean: nDiaSources")


def test_main_runs_check(capsys) -> None:
    assert main(["check", "SELECT ra FROM objects"]) == 0
    assert "output fields: ra" in capsys.readouterr().out


def test_random_filters_compile_and_bench_agrees_with_sqlite() -> None:
    rows = random_rows(600, seed=3)
    assert len(random_filter_sql(rows, 50)) == 50
    result = bench_filters(rows, n_filters=40, seed=2, batch_size=250, per_row_budget=4000)
    assert result["agree"], result
    assert result["alerts"] == 600 and result["filters"] == 40
    assert 0.0 < result["selected_fraction"] < 1.0
    assert min(result["vectorised_per_s"], result["sqlite_per_s"], result["per_row_per_s"]) > 0
    report = format_bench(result)
    assert "vectorised / SQLite" in report and "results agree: yes" in report
