"""The lazy root of `threshold`: `--help` lists every command from the index without importing a command
module, a command imports only its own module, and everything reads exactly as the eager tree does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from threshold.cli import app
from threshold.commands.index import COMMANDS, GROUPS, generate


def eager() -> typer.Typer:
    """The root as it was before the index: every module's commands, then every module's sub-groups."""
    import importlib

    root = typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        context_settings={"max_content_width": 160},
        help="Threshold: share, explore and govern data.",
    )
    for name in GROUPS:
        group: typer.Typer = importlib.import_module(f"threshold.commands.{name}").app
        root.registered_commands.extend(group.registered_commands)
        root.registered_groups.extend(group.registered_groups)
    return root


def modules_after(*argv: str) -> list[str]:
    """The command modules a `threshold` process has imported once it ran ARGV."""
    code = (
        "import json, sys\n"
        f"sys.argv = ['threshold', *{list(argv)!r}]\n"
        "from threshold.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(json.dumps(sorted(m for m in sys.modules if m.startswith('threshold.commands.'))))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return json.loads(run.stderr.strip().splitlines()[-1])


def test_the_index_is_what_the_modules_say() -> None:
    assert generate() == COMMANDS, "stale: run `python -m threshold.commands.index` (then `ruff format`)"
    assert {module for _, module, _ in COMMANDS} == set(GROUPS)


def test_help_imports_no_command_module() -> None:
    assert modules_after("--help") == ["threshold.commands.index"]
    assert modules_after() == ["threshold.commands.index"]  # `threshold` alone prints the same help


def test_a_command_imports_its_own_module_only() -> None:
    assert modules_after("query", "--help") == [
        "threshold.commands.data",
        "threshold.commands.index",
        "threshold.commands.options",
        "threshold.commands.support",
    ]
    assert "threshold.commands.governance" in modules_after("policy", "list", "--help")
    assert "threshold.commands.data" not in modules_after("policy", "list", "--help")


@pytest.mark.parametrize("width", [60, 80, 200])
def test_the_help_reads_as_the_eager_tree_at_every_width(width: int) -> None:
    runner = CliRunner()
    lazy = runner.invoke(app, ["--help"], terminal_width=width)
    full = runner.invoke(eager(), ["--help"], terminal_width=width)
    assert lazy.exit_code == full.exit_code == 0
    assert lazy.output == full.output
    assert "\n  share " in lazy.output and "\n  maintenance " in lazy.output


@pytest.mark.parametrize(
    "argv",
    [
        ["share", "--help"],
        ["policy"],
        ["policy", "--help"],
        ["candidates", "--help"],
        ["glossary", "add", "--help"],
        ["shar"],
        ["query"],
        ["nonsense", "--format", "json"],
    ],
)
def test_commands_read_and_fail_as_in_the_eager_tree(argv: list[str]) -> None:
    runner = CliRunner()
    lazy, full = runner.invoke(app, argv), runner.invoke(eager(), argv)
    assert (lazy.exit_code, lazy.output) == (full.exit_code, full.output)
    assert type(lazy.exception) is type(full.exception)


def test_every_command_of_the_tree_is_there_with_the_same_options() -> None:
    def tree(command: object, path: str) -> dict[str, list[str]]:
        subs = getattr(command, "commands", None)
        if subs is None:
            return {path: sorted(o for p in command.params for o in getattr(p, "opts", []))}  # type: ignore[attr-defined]
        found: dict[str, list[str]] = {}
        for name, sub in subs.items():
            found.update(tree(sub, f"{path} {name}".strip()))
        return found

    lazy, full = tree(typer.main.get_command(app), ""), tree(typer.main.get_command(eager()), "")
    assert lazy == full and len(lazy) > 100


def test_a_command_process_ends_without_the_final_collections(tmp_path: Path) -> None:
    """`entry` keeps the heap as it is at the end (`cli._keep_heap_at_exit`): no full collection after the
    command's own exit handlers (after a share it walked the whole heap for ~0.45 s and freed nothing needed)."""
    code = (
        "import atexit, gc, os, sys\n"
        "def seen(phase, info):\n"
        "    if phase == 'stop': os.write(2, b'collected %d\\n' % info['generation'])\n"
        "atexit.register(lambda: (os.write(2, b'exit handlers\\n'), gc.callbacks.append(seen)))\n"
        f"sys.argv = ['threshold', 'init', '--home', {str(tmp_path / 'home')!r}]\n"
        "from threshold.cli import entry\n"
        "entry()\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    after = run.stderr.split("exit handlers\n", 1)[1]
    assert "collected" not in after, after
    assert (tmp_path / "home").is_dir()
