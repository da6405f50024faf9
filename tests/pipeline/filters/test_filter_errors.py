"""Refusals carry their position and cause; nothing a user types can run as code."""
from __future__ import annotations

import io
import keyword
import tokenize

import pytest

from pipeline.filters import ColumnBatch, FilterError, compile_filter, row_ops, vector_ops
from pipeline.filters.parse import MAX_AST_DEPTH, MAX_NESTING, MAX_SQL_CHARS


def refusal(sql: str) -> FilterError:
    with pytest.raises(FilterError) as caught:
        compile_filter(sql)
    return caught.value


def at(sql: str, token: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the n-th occurrence of `token` in `sql`."""
    offset = -1
    for _ in range(occurrence):
        offset = sql.index(token, offset + 1)
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


@pytest.mark.parametrize("sql, token, cause", [
    ("SELECT ra FROM sherlock_classifications WHERE ra > 1", "sherlock_classifications", "must read FROM objects"),
    ("SELECT ra FROM ztf.objects", "ztf", "unknown table 'ztf.objects'"),
    ("SELECT objects.ra FROM objects WHERE sherlock_classifications.classification = 'SN'",
     "sherlock_classifications", "not in this filter's FROM list"),
    ("SELECT ra FROM objects WHERE objects.ra > (SELECT 1)", "SELECT 1", "subqueries"),
    ("SELECT ra FROM objects WHERE ra IN (SELECT ra FROM objects)", "SELECT ra FROM objects)", "subqueries"),
    ("SELECT ra FROM objects WHERE EXISTS (SELECT 1 FROM objects)", "SELECT 1", "subqueries"),
    ("SELECT ra FROM (SELECT * FROM objects) t", "SELECT *", "subqueries"),
    ("SELECT objects.ra FROM objects JOIN sherlock_classifications s ON s.id = objects.diaObjectId",
     "s.id", "unknown column 'id' of sherlock_classifications"),
    ("SELECT ra FROM objects; SELECT decl FROM objects", "SELECT decl", "only one statement"),
    ("SELECT ra FROM objects WHERE ra > 1;\n  DROP TABLE objects", "DROP", "only one statement"),
    ("INSERT INTO objects (ra) VALUES (1)", "INSERT", "only a SELECT is accepted, not INSERT"),
    ("UPDATE objects SET ra = 1", "UPDATE", "not UPDATE"),
    ("DELETE FROM objects WHERE ra > 1", "DELETE", "not DELETE"),
    ("DROP TABLE objects", "DROP", "not DROP"),
    ("SELECT ra FROM objects UNION SELECT decl FROM objects", "UNION", "UNION is not supported"),
    ("SELECT ra FROM objects GROUP BY ra", "GROUP", "GROUP BY"),
    ("SELECT ra FROM objects WHERE ra > 1 HAVING ra > 2", "HAVING", "HAVING"),
    ("SELECT COUNT(*) FROM objects", "COUNT", "aggregate function COUNT()"),
    ("SELECT ra FROM objects WHERE CONCAT(tns_name, 'x') = 'ax'", "CONCAT", "CONCAT is not supported"),
    ("SELECT ra FROM objects WHERE CAST(ra AS DATE) > 1", "CAST", "CAST to DATE is not supported"),
    ("SELECT ra FROM objects WHERE @threshold < ra", "@threshold", "variables"),
    ("SELECT ra FROM objects WHERE ra > @@version", "@@version", "variables"),
    ("SELECT ra FROM objects WHERE ra > ?", "?", "variables"),
    ("SELECT ra FROM objects WHERE tns_name > 1", "1", "cannot mix strings and numbers"),
    ("SELECT ra FROM objects WHERE objects.tns_name", "objects.tns_name", "expected a condition"),
    ("SELECT ra FROM objects WHERE objects.ra LIKE 'a%'", "objects.ra", "LIKE compares strings"),
    ("SELECT ra FROM objects WHERE ROUND(ra, decl) > 1", "decl", "integer literal"),
    ("SELECT ra FROM objects WHERE mjdnow(1) > 2", "mjdnow", "no arguments"),
    ("SELECT ra FROM objects WHERE ra IS 5", "5", "IS must be followed"),
    ("SELECT ra FROM objects o WHERE objects.ra > 1", "objects.ra", "called 'o'"),
    ("SELECT ra AS r FROM objects WHERE r > 1", "r > 1", "aliases cannot be used in WHERE"),
    ("SELECT ra FROM objects WHERE ra > 1e999", "1e999", "out of range"),
    ("SELECT ra", "ra", "must read FROM objects"),
    ("SELECT ra FROM objects FOR UPDATE", "FOR", "locking"),
    ("SELECT LEAST(ra) FROM objects", "LEAST", "at least two arguments"),
    ("SELECT ra FROM objects WHERE ra > 1 AND CEIL (", "CEIL", "malformed CEIL"),
])
def test_refusals_say_where_and_why(sql: str, token: str, cause: str) -> None:
    error = refusal(sql)
    assert cause in error.cause
    assert (error.line, error.column) == at(sql, token), str(error)
    assert str(error).startswith(f"line {error.line}, column {error.column}: ")


def test_unknown_column_suggests_the_closest_names() -> None:
    sql = "SELECT objects.diaObjectId\nFROM objects\nWHERE objects.latestR > 0.6\n  AND objects.nDiaSource >= 3"
    error = refusal(sql)
    assert error.cause == "unknown column 'nDiaSource'"
    assert (error.line, error.column) == (4, 7)
    assert error.suggestions[0] == "nDiaSources"
    assert "did you mean nDiaSources" in str(error)
    assert error.excerpt() == "  AND objects.nDiaSource >= 3\n      ^"


def test_unknown_function_suggests_known_ones() -> None:
    error = refusal("SELECT ra FROM objects WHERE sqrtt(objects.ra) > 1")
    assert error.cause == "unknown function sqrtt()" and error.suggestions == ("SQRT",)
    assert (error.line, error.column) == (1, 30)
    assert "MJDNOW" in refusal("SELECT now() FROM objects").suggestions


def test_syntax_errors_point_at_the_token() -> None:
    error = refusal("SELECT ra FROM objects\nWHERE ra >")
    assert error.cause.startswith("syntax error near '>'") and (error.line, error.column) == (2, 10)
    error = refusal("SELECT ra FROM objects WHERE ra ** 2 > 1")
    assert error.cause.startswith("syntax error") and (error.line, error.column) == (1, 36)
    error = refusal("SELECT ra FROM objects\nWHERE tns_name = 'unterminated")
    assert "unterminated" in error.cause and (error.line, error.column) == (2, 18)
    assert "empty filter" in refusal("   -- nothing but a comment").cause


def test_size_and_depth_are_bounded() -> None:
    long_sql = "SELECT ra FROM objects WHERE ra > 1" + " " * MAX_SQL_CHARS
    assert "too long" in refusal(long_sql).cause
    nested = "SELECT ra FROM objects WHERE " + "(" * (MAX_NESTING + 1) + "ra" + ")" * (MAX_NESTING + 1) + " > 1"
    error = refusal(nested)
    assert "nested too deeply" in error.cause and error.column == len("SELECT ra FROM objects WHERE ") + MAX_NESTING + 1
    cases = "SELECT ra FROM objects WHERE " + "CASE WHEN ra > 1 THEN " * 25 + "1" + " END" * 25 + " = 1"
    assert "nested too deeply" in refusal(cases).cause
    arithmetic = "SELECT ra FROM objects WHERE " + " + ".join(["ra"] * (MAX_AST_DEPTH + 5)) + " > 1"
    assert "nested too deeply" in refusal(arithmetic).cause
    negations = "SELECT ra FROM objects WHERE " + "NOT " * 300 + "ra > 1"
    assert "nested too deeply" in refusal(negations).cause
    # a long list of alternatives is one level, not hundreds
    alternatives = compile_filter("SELECT ra FROM objects WHERE " + " OR ".join(f"ra = {i}" for i in range(800)))
    assert alternatives.matches({"ra": 799.0}) and not alternatives.matches({"ra": 800.0})


def test_refusal_is_a_value_error_with_the_sql() -> None:
    error = refusal("SELECT ra FROM nowhere")
    assert isinstance(error, ValueError) and error.sql == "SELECT ra FROM nowhere"
    with pytest.raises(FilterError):
        compile_filter(b"SELECT ra FROM objects")  # type: ignore[arg-type]


# -- nothing a user types runs as code -----------------------------------------------------

HOSTILE_STRINGS = [
    "'); __import__(\"os\").system(\"echo pwned\") #",
    "\\'; import os; os.system('x'); '",
    "line one\nline two\r\n\ttabbed",
    "back\\slash and \\n and \\\\ and \"double\" quotes",
    "{__import__('os')}",
    "\x00 nul and \u00e9 and \u2603",
]


def mysql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


@pytest.mark.parametrize("text", HOSTILE_STRINGS)
def test_string_literals_are_inert_data(text: str) -> None:
    sql = f"SELECT objects.tns_name, {mysql_string(text)} AS echo FROM objects WHERE objects.tns_name = {mysql_string(text)}"
    compiled = compile_filter(sql)
    row = {"tns_name": text}
    assert compiled.matches(row) and not compiled.matches({"tns_name": "other"})
    assert compiled.project(row) == {"tns_name": text, "echo": text}
    assert compiled.matches_batch(ColumnBatch.from_rows([row, {"tns_name": None}], ["tns_name"])).tolist() == [True, False]
    assert_generated_code_is_plain(compiled)


@pytest.mark.parametrize("sql, cause", [
    ("SELECT ra FROM objects WHERE __import__('os') > 1", "unknown function __import__()"),
    ("SELECT eval('1') FROM objects", "unknown function eval()"),
    ("SELECT ra FROM objects WHERE exec('import os')", "unknown function exec()"),
    ("SELECT __class__ FROM objects", "unknown column '__class__'"),
    ("SELECT `__builtins__` FROM objects", "unknown column '__builtins__'"),
    ("SELECT `ra; import os` FROM objects", "unknown column 'ra; import os'"),
    ("SELECT objects.__dict__ FROM objects", "unknown column '__dict__'"),
    ("SELECT ra FROM objects WHERE ra.__class__ > 1", "unknown table 'ra'"),
    ("SELECT LOAD_FILE('/etc/passwd') FROM objects", "unknown function LOAD_FILE()"),
    ("SELECT SLEEP(10) FROM objects", "unknown function SLEEP()"),
    ("SELECT ra FROM objects WHERE ra > " + "9" * 5000, "out of range"),
    ("SELECT ra FROM objects WHERE ra > 1e999999", "out of range"),
])
def test_code_like_input_is_refused(sql: str, cause: str) -> None:
    assert cause in refusal(sql).cause


def test_hostile_names_and_huge_numbers_stay_data() -> None:
    alias = "__import__('os').system('echo pwned')"
    compiled = compile_filter(f"SELECT objects.ra AS `{alias}`, POW(10, 1e300) AS p, ROUND(ra, 99999999999) AS r, "
                              "9223372036854775807 * 9223372036854775807 AS m FROM objects")
    assert compiled.project({"ra": 1.25}) == {alias: 1.25, "p": None, "r": 1.25, "m": None}
    assert_generated_code_is_plain(compiled)


def assert_generated_code_is_plain(compiled) -> None:
    """Generated code names only helpers, temporaries, constants and parameters, and holds no
    literal but the 0/1 that pick value or mask from a pair: no user text can have reached it."""
    allowed = set(row_ops.HELPERS) | set(vector_ops.HELPERS) | {"make", "src", "now", "where", "project", "pairs"}
    for source in compiled.generated_source.values():
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME:
                name = token.string
                assert (keyword.iskeyword(name) or name in allowed or
                        (name[0] in "tk" and name[1:].isdigit())), name
            assert token.type != tokenize.STRING, token
            assert token.type != tokenize.NUMBER or token.string in ("0", "1"), token
