"""Rows and filters for the MariaDB differential test: hand-written edge cases by class, and random ones.

The rows are `bench.random_rows` (plausible objects rows) plus edge rows: counts whose ratios sit
on a DECIMAL rounding boundary, strings that differ only by case, accents, trailing spaces or
punctuation. The random filters extend bench's Lasair-like thresholds with decimal, exponent and
quoted literals, integer division, string comparisons, ROUND/FLOOR/TRUNCATE/CAST, bitwise
operators and hex literals.
"""
from __future__ import annotations

import random
from typing import Any

from pipeline.filters.bench import random_rows

SEED = 20261130
EDGE_STRINGS = ["SN", "sn", "SN ", " SN", "é", "e", "E", "è", "ß", "ss", "s", "a-b", "a_b", "a.b", "a b", "ab", "a",
                "Ä", "ae", "a%b", "2025abc", "2025ABC ", "", "Å", "z", "[", "_", "~", "0", "9", "ø", "o", "Œ", "oe",
                "ǆ", "dž", "ŉ", "ﬁ", "fi", "İ", "i", "ı", "Ω", "ω", "😀", "a\u00a0", "a\t"]


def rows() -> list[dict[str, Any]]:
    """About 200 objects rows; edge values first."""
    base = random_rows(150, seed=SEED)
    rng = random.Random(SEED)
    edge = []
    for i, (pos, total) in enumerate([(2, 3), (1, 3), (0, 1), (1, 6), (5, 6), (1, 7), (2, 7), (3, 8), (1, 1), (7, 9)] * 5):
        row = dict(base[i % len(base)])
        row.update(nPosDiaSources=pos, nDiaSources=total, nSourcesGood=rng.choice([0, 1, 2, 3, 50, 51]),
                   tns_name=EDGE_STRINGS[i % len(EDGE_STRINGS)],
                   latestPairColourBands=EDGE_STRINGS[(3 * i + 1) % len(EDGE_STRINGS)],
                   penultimatePairColourBands=rng.choice(EDGE_STRINGS + [None]),
                   latestR=rng.choice([0.5, 2.5, -2.5, 0.125, 1.005, 2.675, 0.3, 0.1, 1e-5, 3.0]),
                   medianR=rng.choice([0.5, 1.5, 0.25, 0.6667, 0.3333]), jump1=rng.choice([0.5, 1.5, 2.5, -0.5]))
        edge.append(row)
    return edge + base


# Hand-written cases: each class of difference the issue lists, as WHERE clauses.
HAND_CASES: dict[str, list[str]] = {
    "integer division (DECIMAL, div_precision_increment 4)": [
        "nPosDiaSources / nDiaSources >= 0.6667", "nPosDiaSources / nDiaSources = 0.6667",
        "nPosDiaSources / nDiaSources > 0.66666", "nPosDiaSources / nDiaSources < 0.3334",
        "nPosDiaSources / nDiaSources = 0.1667", "nPosDiaSources / nDiaSources * 3 >= 2",
        "nPosDiaSources / nDiaSources * 3 = 2", "FLOOR(nPosDiaSources / nDiaSources * 3) = 1",
        "nPosDiaSources / nDiaSources + nPosDiaSources / nDiaSources >= 1.3334",
        "nPosDiaSources / nDiaSources BETWEEN 0.6667 AND 1", "nPosDiaSources / nDiaSources IN (0.6667, 0.3333)",
        "nPosDiaSources / nDiaSources IN (0.6667)", "nPosDiaSources / nDiaSources IN (0.666666666, 2)",
        "nPosDiaSources / nDiaSources IN (0.6667, NULL)", "nPosDiaSources / nDiaSources NOT IN (0.5, 1)",
        "nPosDiaSources / nDiaSources IN (6.667e-1)", "GREATEST(nPosDiaSources / 3, 0.3333) IN (3.333e-01)",
        "nPosDiaSources / nDiaSources = 6.667e-1", "nPosDiaSources / nDiaSources IN (NULL)",
        "nPosDiaSources / nDiaSources > latestR", "nPosDiaSources / nDiaSources = medianR",
        "ROUND(nPosDiaSources / nDiaSources, 2) = 0.67", "nPosDiaSources / 3 = 0.6667", "nDiaSources / 2 = 0.5",
        "1 / nDiaSources > 0.1428", "nPosDiaSources / nDiaSources / 3 > 0.2222",
    ],
    "decimal literals": [
        "nDiaSources * 0.1 = 0.3", "nDiaSources * 0.1 >= 0.3", "0.1 + 0.2 = 0.3", "latestR = 0.3",
        "latestR * 10 = 3", "nDiaSources > 2.5", "nDiaSources >= 3.0", "nDiaSources = 3.0", "nDiaSources < 2.99999",
        "nDiaSources + 0.5 > 3", "nDiaSources * 1.5 = 4.5", "medianR >= 0.6667", "nDiaSources > 2.5e0",
        "nDiaSources = 3e0", "diaObjectId > 1.7e17", "diaObjectId < 170000000000000000.5", "nDiaSources MOD 2.5 = 0.5",
        "nDiaSources - 0.1 * 30 = 0", "latestR + 0.1 > 0.6", "nDiaSources DIV 0.5 = 6",
    ],
    "quoted numbers": [
        "nDiaSources > '50'", "nSourcesGood > '50'", "nSourcesGood = '50'", "nDiaSources >= '3'",
        "nDiaSources > '2.5'", "latestR > '0.5'", "nDiaSources = ' 3'", "nDiaSources IN ('3', '6')",
        "nDiaSources BETWEEN '2' AND '5'", "'3' = nDiaSources", "nDiaSources + '1' > 4",
        "nDiaSources = '3.0000000000000001'", "nPosDiaSources / nDiaSources = '0.6667'", "nPosDiaSources / nDiaSources > '0.66667'",
        "nPosDiaSources / nDiaSources - 0.6667 <> '0'", "nDiaSources > '2.5abc'", "nDiaSources > 'abc'", "nDiaSources < '1e1'",
        "diaObjectId > '1e99'", "nDiaSources IN ('3', 'x')", "latestR = '0.5'",
    ],
    "collation utf8mb4_general_ci": [
        "tns_name = 'SN'", "tns_name = 'sn   '", "tns_name = 'é'", "tns_name = 'e'", "tns_name = 'ß'",
        "tns_name = 's'", "tns_name = 'ss'", "tns_name < 'a'", "tns_name > '_'", "tns_name < '~'", "tns_name < 'ø'",
        "tns_name = latestPairColourBands", "tns_name < latestPairColourBands", "tns_name IN ('e', 'SN')",
        "tns_name BETWEEN 'a' AND 'f'", "tns_name LIKE 'sn'", "tns_name LIKE 'SN '", "tns_name LIKE 'e%'",
        "tns_name LIKE '_'", "tns_name = 'Å'", "tns_name = 'o'", "tns_name = 'Œ'", "tns_name = 'i'",
        "tns_name = 'ω'", "tns_name = '😀'", "tns_name > '😀'", "tns_name < 'a-b'", "tns_name = 'a'",
        "latestPairColourBands >= tns_name", "tns_name <=> penultimatePairColourBands",
        "CASE tns_name WHEN 'e' THEN 1 ELSE 0 END = 1", "tns_name = 'fi'", "tns_name = 'dž'",
    ],
    "ROUND, FLOOR, CEIL, TRUNCATE": [
        "ROUND(latestR) = 2", "ROUND(latestR) = 3", "ROUND(latestR, 2) = 2.68", "ROUND(latestR, 2) = 1.0",
        "ROUND(jump1) = 0", "ROUND(jump1) = 2", "ROUND(2.5) = 3", "ROUND(2.5e0) = 2", "ROUND(-2.5) = -3",
        "ROUND(nDiaSources * 0.5) = 2", "ROUND(nDiaSources / 2) = 2", "FLOOR(nDiaSources * 0.5) = 1",
        "CEIL(nDiaSources / 4) = 1", "FLOOR(latestR) = 0", "TRUNCATE(latestR, 1) = 2.6", "TRUNCATE(nDiaSources / 3, 2) = 0.33",
        "TRUNCATE(nDiaSources, -1) = 0", "ROUND(nDiaSources, -1) = 10", "ROUND(medianR, 1) = 0.5",
        "ROUND(1.005, 2) = 1.01", "TRUNCATE(jump1, 0) = 0",
    ],
    "bitwise operators and hex literals": [
        "nDiaSources & 1 = 1", "nDiaSources | 8 = 9", "nDiaSources ^ 3 = 0", "nDiaSources << 2 = 12",
        "nDiaSources >> 1 = 1", "~nDiaSources > 0", "htm16 >> 32 = 0", "(htm16 & 15) = 3", "0x10 = 16",
        "nDiaSources = 0x3", "nDiaSources & -1 = nDiaSources", "-nDiaSources & 255 > 250", "nDiaSources << 64 = 0",
        "nDiaSources >> 64 = 0", "~0 > 0", "(nDiaSources | 1) - 2 > 0", "BIT_COUNT(nDiaSources) = 2",
        "htm16 & ~0 = htm16", "~0 >> 63 = 1", "0xFFFFFFFFFFFFFFFF = ~0", "18446744073709551615 = ~0", "X'0f' = 15",
        "latestR & 3 = 2", "(nDiaSources / 2) | 0 = 2", "nDiaSources ^ nPosDiaSources > 2", "1 << nDiaSources > 8",
        "BIT_COUNT(-1) = 64", "nDiaSources & '3' = 3", "GREATEST(~0, nDiaSources) > 0", "LEAST(~nDiaSources, 5) = 5",
        "GREATEST(~nDiaSources, diaObjectId) > 18446744073709551600", "CASE WHEN nDiaSources > 3 THEN ~0 ELSE 0.5 END > 1",
    ],
    "CAST": [
        "CAST(latestR AS SIGNED) = 2", "CAST(latestR AS SIGNED) = 3", "CAST(-2.5 AS SIGNED) = -3",
        "CAST(nDiaSources AS UNSIGNED) = 3", "CAST(-1 AS UNSIGNED) > 0", "CAST(latestR AS DECIMAL(10,2)) = 2.68",
        "CAST(latestR AS DECIMAL(10,1)) = 0.3", "CAST(nDiaSources AS DOUBLE) / 3 = 1", "CAST(nDiaSources AS CHAR) = '3'",
        "CAST(tns_name AS CHAR) = 'sn'", "CAST(nPosDiaSources / nDiaSources AS DECIMAL(5,3)) = 0.667",
        "CAST(medianR AS DECIMAL(4,2)) > 0.5", "CAST('2.5' AS DOUBLE) = 2.5", "CAST(nDiaSources AS SIGNED) = '3'",
        "CONVERT(nDiaSources, SIGNED) = 3",
        "CAST(jump1 AS DECIMAL(6,3)) * 2 > 1", "CAST(nPosDiaSources / nDiaSources AS DOUBLE) > 0.66", "CAST(latestR AS DECIMAL) = 3",
        "CAST(latestR AS UNSIGNED) = 2", "CAST(latestR * 1e20 AS SIGNED) > 0", "CAST(0.5 AS SIGNED) = 1",
        "CAST(-2.5 AS UNSIGNED) = 0", "CAST(-nDiaSources AS UNSIGNED) > 5", "CAST(nDiaSources - 3.5 AS UNSIGNED) = 0",
        "CAST(nDiaSources AS UNSIGNED) - 3 >= 0", "(nDiaSources | 0) - 0.5 > 2", "~0 + nDiaSources > 0",
    ],
    "DECIMAL inside functions and branches": [
        "GREATEST(nDiaSources / 3, 0.5) > 0.6", "COALESCE(nPosDiaSources / nDiaSources, 0) >= 0.6667",
        "IF(nDiaSources > 2, 0.5, 1.25) = 0.5", "CASE WHEN nDiaSources > 3 THEN nPosDiaSources / nDiaSources ELSE 0.25 END < 0.3",
        "nDiaSources / 0 IS NULL", "MOD(nDiaSources, 0.7) > 0.3", "nDiaSources DIV 0.7 = 4", "-nDiaSources / 7 < -0.4285",
        "ABS(-nDiaSources / 7) > 0.4285", "SIGN(nPosDiaSources / nDiaSources - 0.5) = 1", "nDiaSources / 3 > latestR",
        "nDiaSources * 0.5 + latestR > 2", "SQRT(nDiaSources / 2) > 1.2", "nPosDiaSources / nDiaSources * 100 >= 66.67",
        "(nPosDiaSources / nDiaSources) / (nSourcesGood / nDiaSources) > 1", "nDiaSources / 3 <=> 1",
        "LEAST(nDiaSources * 0.1, 0.35) = 0.3", "nDiaSources MOD 2 = 1.0", "99999999999999999999 > diaObjectId",
        "diaObjectId / 1000000000 > 170000000", "ROUND(nPosDiaSources / nDiaSources, 3) IN (0.667, 0.333)",
    ],
    "flux2mag": ["flux2mag(g_psfFlux) < 20", "flux2mag(latest_psfFlux) BETWEEN 18 AND 22", "flux2mag(jump1) IS NULL"],
}


def random_wheres(rows: list[dict[str, Any]], n: int, seed: int = SEED) -> list[str]:
    """Lasair-like thresholds (as bench writes them) mixed with the constructs MariaDB types its own way."""
    rng = random.Random(seed)
    ints = ["nDiaSources", "nPosDiaSources", "nSourcesGood", "ngSources", "nrSources"]
    doubles = ["ra", "decl", "latestR", "medianR", "jump1", "g_psfFlux", "glat", "ebv"]
    strings = ["tns_name", "latestPairColourBands", "penultimatePairColourBands"]

    def observed(name: str) -> Any:
        values = [row[name] for row in rows if isinstance(row.get(name), (int, float))]
        return rng.choice(values)

    def number(name: str) -> str:
        value = observed(name)
        style = rng.random()
        if style < 0.3:
            return str(int(value))
        if style < 0.6:
            return f"{value:.{rng.randint(1, 4)}f}"
        if style < 0.75:
            return f"{value:.3e}"
        if style < 0.9:
            return f"'{value:.2f}'" if rng.random() < 0.5 else f"'{int(value)}'"
        return f"0x{abs(int(value)) % 4096:x}"

    def numeric_term() -> tuple[str, str]:
        """An expression and the column its thresholds come from."""
        kind = rng.random()
        name = rng.choice(ints if kind < 0.5 else doubles)
        if kind < 0.15:
            return f"{name} / {rng.choice(ints)}", "medianR"
        if kind < 0.25:
            return f"{name} * {rng.choice(['0.1', '0.25', '1.5', '2', '1e-1'])}", name
        if kind < 0.3:
            return f"{name} {rng.choice(['&', '|', '^', '>>', '<<'])} {rng.randint(0, 5)}", name
        if kind < 0.4:
            fn = rng.choice(["ROUND({}, 1)", "ROUND({})", "FLOOR({})", "CEIL({})", "TRUNCATE({}, 1)", "ABS({})",
                             "CAST({} AS SIGNED)", "CAST({} AS DECIMAL(8,2))", "CAST({} AS DOUBLE)", "ROUND({} / 3, 2)"])
            return fn.format(name), name
        if kind < 0.5:
            return f"{name} + {rng.choice(['0.5', '1', '2.5e0', '-0.25'])}", name
        if kind < 0.6:
            a, b = rng.sample(ints, 2)
            shape = rng.choice(["({a} / {b}) * {c}", "{a} / ({b} + 1) - {c}", "{a} DIV {c}", "{a} MOD {c}",
                                "({a} + {b}) / 7 / {c}", "IF({a} > {b}, {a} / {b}, {c})", "GREATEST({a} / 3, {c})",
                                "CASE WHEN {a} > 2 THEN {a} * {c} ELSE {b} / 4 END", "COALESCE({a} / {b}, {c})"])
            # (a quoted number among IF/CASE/COALESCE/GREATEST results is refused here: README)
            quoted = ["'2'"] if shape.startswith("(") or "DIV" in shape or "MOD" in shape or shape.startswith("{a} /") else []
            return shape.format(a=a, b=b, c=rng.choice(["0.5", "3", "1.25", "0.3333", "2e0", *quoted])), "medianR"
        return name, name

    def condition() -> str:
        roll = rng.random()
        if roll < 0.15:
            name = rng.choice(strings)
            op = rng.choice(["=", "<", ">", "<=", ">=", "<>", "LIKE"])
            text = rng.choice(EDGE_STRINGS)
            if op == "LIKE":
                text = rng.choice([text + "%", "%" + text, text, text + "_"])
            other = rng.choice([f"'{text}'", f"'{text}'", rng.choice(strings)])
            return f"{name} {op} {other}"
        term, source = numeric_term()
        op = rng.choice([">", ">=", "<", "<=", "=", "<>", "<=>", "BETWEEN", "IN"])
        if op == "IN":
            return f"{term} IN ({', '.join(number(source) for _ in range(rng.choice((1, 2, 3))))})"
        if op == "BETWEEN":
            low, high = sorted((observed(source), observed(source)))
            return f"{term} BETWEEN {low:.4g} AND {high:.4g}"
        return f"{term} {op} {number(source)}"

    wheres = []
    for _ in range(n):
        parts = [condition() for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        where = f" {rng.choice(('AND', 'AND', 'OR'))} ".join(parts)
        wheres.append(f"NOT ({where})" if rng.random() < 0.1 else where)
    return wheres
