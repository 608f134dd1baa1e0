"""Measure how far the code is from "typed results, one renderer" (issue 12's "Measured" figures).

    python scripts/code_shape.py [--mypy] [--list] [--src src]

Prints, one line each:
- public service functions returning `dict[str, Any]` or `list[dict[str, Any]]` (capability and core
  packages; the interfaces `api`, `web`, `commands`, `interface`, `cli`, the clients and the demo left out;
  a public function is a module-level `def` whose name does not start with `_`);
- the CLI's hand-made Rich tables (`Table(` called in `commands/` and `cli.py`);
- `fmt == "json"` comparisons in the interfaces (each is a JSON branch written by hand);
- `# fmt: skip` comments in `src` and `tests`;
- import cycle groups at package and module level (the same graph as `scripts/import_cycles.py`);
- with `--mypy`, mypy's error count (runs `mypy` from the same environment, about a minute).

It exits 0 always: it measures, `make lint` enforces.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from import_cycles import graph, package_graph, strongly_connected  # noqa: E402

INTERFACES = ("api", "web", "commands", "interface", "demo", "resident", "pgwire")
DICT_RESULT = re.compile(r"^(list\[)?dict\[str, Any\]\]?( \| None)?$")


def _is_interface(rel: Path) -> bool:
    top = rel.parts[1] if len(rel.parts) > 1 else ""
    return top in INTERFACES or top.endswith("client.py") or top == "cli.py"


def dict_returning(src: Path) -> list[str]:
    """`module:function` of every public service function annotated to return a dict (or a list of them)."""
    found = []
    for path in sorted((src / "threshold").rglob("*.py")):
        rel = path.relative_to(src)
        if _is_interface(rel):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name.startswith("_"):
                continue
            if node.returns is not None and DICT_RESULT.match(ast.unparse(node.returns)):
                found.append(f"{'.'.join(rel.with_suffix('').parts)}:{node.name}")
    return found


def count_in(paths: list[Path], pattern: re.Pattern[str]) -> int:
    return sum(len(pattern.findall(p.read_text(encoding="utf-8"))) for p in paths)


def mypy_errors(root: Path) -> int:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=root, capture_output=True, text=True, check=False)
    match = re.search(r"Found (\d+) errors?", done.stdout)
    return int(match.group(1)) if match else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--src", default=str(root / "src"))
    parser.add_argument("--mypy", action="store_true", help="also run mypy and count its errors")
    parser.add_argument("--list", action="store_true", help="list the dict-returning functions")
    args = parser.parse_args()
    src = Path(args.src)
    pkg = src / "threshold"

    dicts = dict_returning(src)
    cli_files = sorted((pkg / "commands").glob("*.py")) + [pkg / "cli.py"]
    interface_files = [p for p in sorted(pkg.rglob("*.py")) if _is_interface(p.relative_to(src))]
    tests = src.parent / "tests"
    src_and_tests = sorted(pkg.rglob("*.py")) + (sorted(tests.rglob("*.py")) if tests.is_dir() else [])

    tables = count_in(cli_files, re.compile(r"(?<!def )\bTable\("))
    json_branches = count_in(interface_files, re.compile(r"fmt == .json."))
    skips = count_in(src_and_tests, re.compile(r"# fmt: skip"))
    print(f"public service functions returning dict[str, Any]: {len(dicts)}")
    print(f"CLI hand-made Rich tables (Table( in commands/, cli.py): {tables}")
    print(f'fmt == "json" branches in the interfaces: {json_branches}')
    print(f"# fmt: skip in src and tests: {skips}")
    mods = graph(src)
    for level, g in (("packages", package_graph(mods)), ("modules", mods)):
        comps = strongly_connected(g)
        print(f"import cycle groups ({level}): {len(comps)}, {sum(len(c) for c in comps)} nodes in them")
    if args.mypy:
        print(f"mypy errors: {mypy_errors(root)}")
    if args.list:
        for name in dicts:
            print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
