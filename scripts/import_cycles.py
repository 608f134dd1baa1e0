"""Count import cycles in src/threshold, at package level and at module level.

    python scripts/import_cycles.py [--list] [--src src]

Every `import` / `from ... import` in a module counts, wherever it stands (a function-local
import is still a dependency), except those under `if TYPE_CHECKING:` (they never run).
Package level: each top-level subpackage or module of `threshold` is one node (`threshold.sharing`,
`threshold.cli`); the root package `threshold/__init__.py` is left out (it re-exports).
Module level: each module is one node; a package's `__init__` is the package's own node.

A cycle group is a strongly connected component with more than one node; the script prints, for each
level, the number of groups, the nodes they hold and the number of elementary cycles (counted up to
a cap, since a knot can hold millions). It exits 0 always: it measures, `make lint` enforces.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = "threshold"
CYCLE_CAP = 100_000


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, name: str, is_package: bool, known: set[str]) -> set[str]:
    """In-repo modules that `name` imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            for alias in node.names:  # `from pkg import module` imports the module, not (only) the package
                found.add(f"{mod}.{alias.name}" if f"{mod}.{alias.name}" in known else mod)
        for inner in ast.iter_child_nodes(node):
            visit(inner)

    visit(tree)
    out = set()
    for target in found:
        # resolve to the longest known module prefix
        parts = target.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        if parts and parts[0] == ROOT:
            resolved = ".".join(parts)
            if resolved != name:
                out.add(resolved)
    return out


def graph(src: Path) -> dict[str, set[str]]:
    files = sorted((src / ROOT).rglob("*.py"))
    names = {module_name(p, src): p for p in files}
    known = set(names)
    return {n: imports_of(p, n, p.name == "__init__.py", known) for n, p in names.items()}


def package_graph(mod_graph: dict[str, set[str]]) -> dict[str, set[str]]:
    def pkg(m: str) -> str | None:
        parts = m.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 else None

    out: dict[str, set[str]] = defaultdict(set)
    for m, targets in mod_graph.items():
        a = pkg(m)
        if a is None:
            continue
        out[a]
        for t in targets:
            b = pkg(t)
            if b is not None and b != a:
                out[a].add(b)
    return dict(out)


def strongly_connected(g: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative; components with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: list[list[str]] = []
    counter = 0
    for start in sorted(g):
        if start in index:
            continue
        work = [(start, iter(sorted(g.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(g.get(w, ())))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    result.append(sorted(comp))
    return sorted(result, key=lambda c: (-len(c), c))


def count_cycles(g: dict[str, set[str]], nodes: list[str], cap: int = CYCLE_CAP) -> int:
    """Elementary cycles inside one component (simple DFS from each node over higher-ordered nodes)."""
    order = {n: i for i, n in enumerate(sorted(nodes))}
    count = 0
    for s in sorted(nodes):
        si = order[s]
        path = [s]
        on_path = {s}
        stack = [iter(sorted(t for t in g.get(s, ()) if t in order and order[t] >= si))]
        while stack:
            for w in stack[-1]:
                if w == s:
                    count += 1
                    if count >= cap:
                        return count
                elif w not in on_path:
                    path.append(w)
                    on_path.add(w)
                    stack.append(iter(sorted(t for t in g.get(w, ()) if t in order and order[t] >= si)))
                    break
            else:
                stack.pop()
                on_path.discard(path.pop())
    return count


def report(level: str, g: dict[str, set[str]], show: bool) -> None:
    comps = strongly_connected(g)
    cycles = sum(count_cycles(g, c) for c in comps)
    held = sum(len(c) for c in comps)
    capped = " (capped)" if cycles >= CYCLE_CAP else ""
    print(f"{level}: {len(comps)} cycle groups, {held} of {len(g)} nodes in them, {cycles} elementary cycles{capped}")
    if show:
        for c in comps:
            print(f"  [{len(c)}] " + ", ".join(n.removeprefix(ROOT + ".") for n in c))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", default=str(Path(__file__).resolve().parent.parent / "src"))
    parser.add_argument("--list", action="store_true", help="list the nodes of every cycle group")
    args = parser.parse_args()
    mods = graph(Path(args.src))
    report("packages", package_graph(mods), args.list)
    report("modules", mods, args.list)
    return 0


if __name__ == "__main__":
    sys.exit(main())
