"""Turn IR into a Python function, for either runtime, without ever pasting user text.

The generated source is straight-line code, one helper call per IR node:

    def make(k0, k1):
        def where(src, now):
            t0 = load_int(src, k0)
            t1 = ge(t0, k1)
            return (t1, )
        return where

Its only names are temporaries (t*), constants (k*), helper names (fixed identifiers of
`row_ops`/`vector_ops`) and the two parameters. Column names and literals reach the
function as values bound to k* in its namespace, never as source text, and the namespace
has no builtins. Straight-line code also means no nesting limit for the Python compiler,
and shared subexpressions (equal IR nodes) are computed once. A runtime may write its
hottest operations in place of the helper call (`inline`), from fixed templates over
the same t*/k* names.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from .ir import Col, Const, Node, Now, Op


@dataclass(frozen=True)
class Generated:
    function: Callable[[Any, Any], tuple[Any, ...]]
    source: str


def generate(roots: Sequence[Node], runtime: ModuleType, name: str) -> Generated:
    """Compile `roots` into `name(src, now) -> tuple of root values` over `runtime`'s helpers."""
    helpers: dict[str, Callable[..., Any]] = runtime.HELPERS
    inline: Callable[[Node, list[str]], str | None] = getattr(runtime, "inline", lambda node, refs: None)
    constants: dict[str, Any] = {}
    const_refs: dict[Const, str] = {}
    temps: dict[Node, str] = {}
    lines: list[str] = []

    def constant(value: Any) -> str:
        ref = f"k{len(constants)}"
        constants[ref] = value
        return ref

    def ref(node: Node) -> str:
        if isinstance(node, Const):
            if node not in const_refs:
                const_refs[node] = constant(runtime.wrap_const(node.value, node.type))
            return const_refs[node]
        return temps[node]

    for node in _postorder(roots):
        if isinstance(node, Const):
            continue
        if isinstance(node, Col):
            helper, args = ("load_folded" if node.folded else f"load_{node.type}"), ["src", constant(node.name)]
        elif isinstance(node, Now):
            helper, args = "now_value", ["now"]
        else:
            helper = node.helper
            args = [ref(a) for a in node.args] + [constant(p) for p in node.params]
        if helper not in helpers or not helper.isidentifier():
            raise RuntimeError(f"no runtime helper {helper!r}")  # a compiler bug, not user input
        temps[node] = f"t{len(temps)}"
        call = inline(node, args) or f"{helper}({', '.join(args)})"
        lines.append(f"        {temps[node]} = {call}")
    lines.append(f"        return ({''.join(ref(r) + ', ' for r in roots)})")
    # Constants are closure cells; helpers are globals shared by every filter of a runtime,
    # which keeps thousands of filters from each dragging their own namespace through caches.
    source = (f"def make({', '.join(constants)}):\n    def {name}(src, now):\n" + "\n".join(lines)
              + f"\n    return {name}\n")
    defined: dict[str, Any] = {}
    exec(compile(source, f"<filter:{name}>", "exec"), _shared_globals(runtime), defined)  # our source only
    return Generated(function=defined["make"](**constants), source=source)


_GLOBALS: dict[str, dict[str, Any]] = {}


def _shared_globals(runtime: ModuleType) -> dict[str, Any]:
    if runtime.__name__ not in _GLOBALS:
        _GLOBALS[runtime.__name__] = {"__builtins__": {}, **runtime.HELPERS}
    return _GLOBALS[runtime.__name__]


def _postorder(roots: Sequence[Node]) -> list[Node]:
    """Children before parents, each node once (iterative: trees may be deep)."""
    seen: set[Node] = set()
    order: list[Node] = []
    stack: list[tuple[Node, bool]] = [(root, False) for root in reversed(roots)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))
            if isinstance(node, Op):
                stack.extend((arg, False) for arg in reversed(node.args))
    return order
