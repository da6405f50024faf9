"""`filter check`: show how a filter compiles, or exactly where and why it is refused."""
from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from typing import TextIO

from pipeline.filters.compiled import compile_filter
from pipeline.filters.errors import FilterError


def check(sql: str, out: TextIO | None = None) -> int:
    """Print the compiled filter's summary (exit status 0) or its error (exit status 2)."""
    out = out if out is not None else sys.stdout
    try:
        compiled = compile_filter(sql)
    except FilterError as error:
        print(f"error at line {error.line}, column {error.column}: {error.cause}", file=out)
        print(textwrap.indent(error.excerpt(), "    "), file=out)
        if error.suggestions:
            print(f"did you mean: {', '.join(error.suggestions)}", file=out)
        return 2
    print("normalised SQL:", file=out)
    print(textwrap.indent(compiled.normalised_sql, "    "), file=out)
    print(f"output fields: {', '.join(compiled.output_fields)}", file=out)
    print(f"columns: {', '.join(sorted(compiled.columns))}", file=out)
    for warning in compiled.warnings:
        print(f"warning: {warning}", file=out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.filters.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="compile a filter and report").add_argument("sql")
    args = parser.parse_args(argv)
    return check(args.sql)


if __name__ == "__main__":
    sys.exit(main())
