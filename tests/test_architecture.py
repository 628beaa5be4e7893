"""The shape of the package, read from its own imports: no circles, the layer rules of
docs/architecture.md, a pure qualification core, and the size limits.

Every ``import`` counts — at module top, inside functions and under ``TYPE_CHECKING`` — because
a lazy or type-only import still ties two modules together for whoever reads or moves them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "monitord"

# Tiers, lowest first. A unit (a top-level module or a subpackage of monitord) may import
# units of a LOWER tier only; units of one tier never import each other. A new unit must be
# placed here on purpose: an unplaced unit fails the test.
TIERS: tuple[frozenset[str], ...] = (
    # 0-1: the ground floor — the shared vocabulary and generic plumbing
    frozenset({"monitord", "compat", "model", "logs", "systemd", "store", "config"}),
    frozenset({"clock", "eventcodec", "eventloop"}),
    # 2: features that stand on the ground floor alone
    frozenset({"route", "checks", "supervise"}),
    # 3: features that build on tier 2
    frozenset({"qualify", "notify", "snmp", "heartbeat"}),
    # 4: edges — whole-config assembly, running checks, the store edge of the core
    frozenset({"configfile", "runner", "scheduler", "qualify_store", "evidence"}),
    # 5: services built from the edges; the API sees narrow views, never the daemon
    frozenset({"probe", "explain", "alerting", "api", "agent", "history"}),
    # 6: the daemon assembles everything
    frozenset({"app"}),
    # 7-8: entry points
    frozenset({"client", "demo", "testing"}),
    frozenset({"cli"}),
    frozenset({"__main__"}),
)

# The core decides; it does no I/O and draws no random ids or clock readings of its own.
PURE_CORE = "qualify"
PURE_CORE_FORBIDDEN_MODULES = frozenset({
    "sqlite3", "uuid", "random", "secrets", "socket", "ssl", "time", "aiohttp", "aiosmtplib",
    "aiodns", "dns", "asyncio", "os", "subprocess",
})
PURE_CORE_FORBIDDEN_UNITS = frozenset({"store", "notify", "api", "clock", "qualify_store"})

MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    source: str          # dotted module that imports
    target: str          # dotted name imported (module, or module.attribute)
    line: int


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path) -> Iterator[Import]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield Import(name, f"{base}.{alias.name}" if base else alias.name, node.lineno)


def resolve(target: str, known: dict[str, Path]) -> str | None:
    """The monitord module that ``target`` names (``pkg.mod.attr`` → ``pkg.mod``)."""
    while target:
        if target in known:
            return target
        target = target.rpartition(".")[0]
    return None


def unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def tier(unit_name: str) -> int | None:
    for index, members in enumerate(TIERS):
        if unit_name in members:
            return index
    return None


def graph() -> dict[str, set[tuple[str, int]]]:
    known = modules()
    edges: dict[str, set[tuple[str, int]]] = {name: set() for name in known}
    for name, path in known.items():
        for imp in imports_of(name, path):
            if not imp.target.startswith("monitord"):
                continue
            target = resolve(imp.target, known)
            if target is not None and target != name:
                edges[name].add((target, imp.line))
    return edges


def circles(edges: dict[str, set[tuple[str, int]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target, _ in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    assert circles(graph()) == []


def test_every_unit_is_placed_in_a_tier() -> None:
    unplaced = sorted({unit(name) for name in modules()} - set().union(*TIERS))
    assert unplaced == [], f"place these in TIERS (docs/architecture.md): {unplaced}"


def test_imports_follow_the_layer_rules() -> None:
    broken = []
    for source, targets in graph().items():
        source_tier = tier(unit(source))
        for target, line in targets:
            if unit(target) == unit(source):
                continue
            target_tier = tier(unit(target))
            if source_tier is None or target_tier is None or target_tier >= source_tier:
                broken.append(f"{source}:{line} imports {target}")
    assert broken == []


def test_the_qualification_core_is_pure() -> None:
    broken = []
    for name, path in modules().items():
        if unit(name) != PURE_CORE:
            continue
        for imp in imports_of(name, path):
            root = imp.target.split(".")[0]
            if root in PURE_CORE_FORBIDDEN_MODULES:
                broken.append(f"{name}:{imp.line} imports {imp.target}")
            if root == "monitord" and unit(imp.target) in PURE_CORE_FORBIDDEN_UNITS:
                broken.append(f"{name}:{imp.line} imports {imp.target}")
    assert broken == []


def test_the_rules_catch_a_wrong_import(tmp_path: Path) -> None:
    """The checker itself: an upward import and a circle are both seen."""
    edges = {"monitord.model": {("monitord.app", 1)}, "monitord.app": {("monitord.model", 1)}}
    assert circles(edges) == [["monitord.app", "monitord.model"]]
    assert tier(unit("monitord.model")) == 0
    assert tier(unit("monitord.app")) == 6


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES, f"{path.name} is over {MAX_MODULE_LINES} lines"
    long = [f"{fn.name} ({(fn.end_lineno or fn.lineno) - fn.lineno + 1} lines)"
            for fn in _functions(ast.parse(text))
            if (fn.end_lineno or fn.lineno) - fn.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []
