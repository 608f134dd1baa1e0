"""The `threshold` command: the command groups (`threshold.commands.index`) and the entry point.

Commands are thin: parse options, call a service, print the result (`threshold.commands.*`). Errors print
one line on stderr and exit with the error's code (never a traceback). The root group is lazy: it lists the
commands from the index and imports a command's module only when that command runs, so `threshold --help`
imports none of them.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any

import typer
import typer.core

from threshold.commands.index import COMMANDS, GROUPS, load
from threshold.errors import NotFound, ThresholdError

__all__ = ["GROUPS", "app", "main", "run", "serve_resident"]


class _LazyCommands(MutableMapping[str, Any]):
    """The root's commands by name: every name of the index, each module converted on first use."""

    def __init__(self) -> None:
        self._module = {name: module for name, module, _ in COMMANDS}
        self._loaded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            self._loaded.update(load(self._module[name]))  # a KeyError says: no such command
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._module.setdefault(name, "")
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self._module[name]
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._module)

    def __len__(self) -> int:
        return len(self._module)


class LazyRoot(typer.core.TyperGroup):
    """`threshold`: its commands come from the index and load when used; its help lists them from the index."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """As Click lists them (short help cut to the width), from the index instead of the commands."""
        if not COMMANDS:
            return
        limit = formatter.width - 6 - max(len(name) for name, _, _ in COMMANDS)
        rows = [
            (name, typer.core.TyperCommand(name=name, help=text).get_short_help_str(limit))
            for name, _, text in COMMANDS
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    cls=LazyRoot,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain help: Rich's help pulls in markdown and pygments (most of `--help`'s time)
    context_settings={"max_content_width": 160},  # as wide as the terminal, not Click's 80 columns
    help="Threshold: share, explore and govern data.",
)


@app.callback()
def _root() -> None:
    """Nothing to do before a command (Typer makes a group, and so a LazyRoot, only for a root with a callback)."""


def _fail(message: str, code: int) -> None:
    """One line on stderr, whatever the terminal width, then exit."""
    sys.stderr.write(" ".join(message.split()) + "\n")
    sys.exit(code)


def _older_store(e: Exception) -> bool:
    """A table or column this version expects is missing: the store was not migrated yet."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(e)
    return isinstance(e, (OperationalError, ProgrammingError)) and (
        "no such table" in text or "no such column" in text or "UndefinedTable" in text or "UndefinedColumn" in text
    )


_LISTINGS = {"insight": "threshold insight list", "board": "threshold board list", "job": "threshold jobs list"}
"""Where the CLI lists what a refusal says it cannot find (the services' messages name no interface)."""


def _cli_hint(e: ThresholdError) -> str:
    """What to do next, in the CLI's words (the message itself names no interface)."""
    hint = ""
    if e.suggestions:
        hint += f"; did you mean {' or '.join(e.suggestions)}?"
    if e.request_access:
        hint += f"; request access: threshold request {e.request_access} --purpose ..."
    elif isinstance(e, NotFound) and (
        listing := _LISTINGS.get(str(e).split(" ", 2)[1] if " job " not in str(e) else "job")
    ):
        hint += f"; `{listing}` lists them"
    elif str(e).startswith(("unknown dataset", "unknown table")) or (
        isinstance(e, NotFound) and ("dataset" in str(e) or "table" in str(e))
    ):  # not for what is not data (a domain, a term, a person)
        hint += "; `threshold datasets` lists what you can query"
    return hint


def main() -> None:
    """Entry point: a read command goes to the home's resident helper when there is one (or it can be
    started; `threshold.resident`), else, and for every other command, it runs here."""
    from threshold.resident import COMMANDS

    if sys.argv[1:2] and sys.argv[1] in COMMANDS:
        from threshold.resident.client import forward

        try:
            code = forward(sys.argv[1:])
        except KeyboardInterrupt:  # while a helper started: nothing ran yet
            _fail("interrupted", 130)
        if code is not None:
            sys.exit(code)
    if sys.argv[1:2] == ["share"]:
        import gc

        from threshold.sharing.digest import start_early
        from threshold.sharing.early import start as start_conversion

        try:
            digest = start_early(sys.argv[1:])  # the file's SHA-256 on the core the imports below leave idle
            start_conversion(sys.argv[1:], digest)  # a plain CSV converts into staging while the rest imports
        except KeyboardInterrupt:  # what started is discarded at exit (`early.discard_all`)
            _fail("interrupted", 130)
        # The ~1 s of imports below allocate objects that live to the end; full collections walking them
        # (four during the imports, ~0.2 s) find nothing. Young generations are still collected as usual.
        gc.set_threshold(*gc.get_threshold()[:2], 1_000_000)
    run()


def serve_resident() -> None:
    """The resident helper's process (started by the thin client): HOME SOCKET CODE READY-FD as arguments."""
    from threshold.resident.helper import serve
    from threshold.resident.protocol import LISTEN_FIRST

    home, path, code, ready = sys.argv[1:5]
    sys.argv, extra = ["threshold"], sys.argv[5:]
    serve(home, path, int(ready), code, run, warm_first=extra != [LISTEN_FIRST])


class _Interrupts:
    """Whether this process received Ctrl-C (SIGINT): `entry` installs `handler`, which records it and raises
    KeyboardInterrupt as Python's own handler does. A library can turn that KeyboardInterrupt into another
    error (an import cut short leaves a half-initialised module, whose next use fails); after a Ctrl-C such an
    error is said as an interruption too, not as an internal error."""

    seen = False

    @classmethod
    def handler(cls, signum: int, frame: Any) -> None:
        cls.seen = True
        raise KeyboardInterrupt

    @classmethod
    def install(cls) -> None:
        """In the main thread, when SIGINT has Python's own handler (not when it is ignored: a background job)."""
        import signal

        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, cls.handler)


def _engine_interrupted(e: Exception) -> bool:
    """DuckDB's answer to a Ctrl-C that arrived while it ran: `RuntimeError("Query interrupted")` from its Python
    client's signal check, or its own `InterruptException` (duckdb is not imported here: start-up time)."""
    return (type(e) is RuntimeError and str(e) == "Query interrupted") or (
        type(e).__name__ == "InterruptException" and "duckdb" in type(e).__module__
    )


def run() -> None:
    """The command in this process: one line on stderr and a non-zero exit for every error, never a traceback."""
    import click

    if sys.argv[1:2] == ["share"]:
        from threshold.sharing.digest import start_unless_offered
        from threshold.sharing.early import start as start_conversion

        # A helper's child: converting (and hashing, unless the client handed a finished digest over) while it
        # parses, checks and locks, and, in a helper that listened first, imports.
        start_conversion(sys.argv[1:], start_unless_offered(sys.argv[1:]))
    try:
        code = app(standalone_mode=False, prog_name="threshold")
    except ThresholdError as e:
        _fail(f"error: {e}{_cli_hint(e)}", e.exit_code)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except (click.ClickException, typer.exceptions.TyperException) as e:  # newer Typer vendors its own click
        if type(e).__name__ == "NoArgsIsHelpError":  # `threshold` or `threshold policy` alone: the help, as is
            sys.stdout.write(e.format_message() + "\n")
            sys.exit(2)
        _fail(f"error: {e.format_message()}", e.exit_code or 2)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except SystemExit:
        raise
    except OSError as e:
        if _Interrupts.seen:  # a system call cut short by the Ctrl-C
            _fail("interrupted", 130)
        _fail(f"error: {e.strerror or e} {getattr(e, 'filename', '') or ''}", 1)
    except Exception as e:  # a bug of ours (or a store not upgraded yet): still one line, never a traceback
        if _engine_interrupted(e) or _Interrupts.seen:  # Ctrl-C reached DuckDB (a share's conversion) or a
            # library first, which turned it into its own error: the same as above
            _fail("interrupted", 130)
        if _older_store(e):
            _fail(
                "error: this home's metadata store is older than this version of Threshold "
                f"({str(e).splitlines()[0][:120]}); run `threshold init` to upgrade it",
                1,
            )
        first = str(e).splitlines()[0] if str(e) else ""
        _fail(f"internal error ({type(e).__name__}): {first}", 70)
    # Outside standalone mode Typer returns what would have been the exit code: a command's `typer.Exit(n)`
    # (`check run --strict`, `jobs run`), and 130 for a Ctrl-C that reached Python code (Typer turns a
    # KeyboardInterrupt into `Exit(130)`), e.g. while a share waits for its early conversion.
    if type(code) is int and code == 130:
        _fail("interrupted", 130)
    if type(code) is int and code:
        sys.exit(code)


def _keep_heap_at_exit() -> None:
    """The process is ending: no more collections. The interpreter's own at its end walk every object the
    command's imports and work left (after a share: ~0.45 s of CPU, as long as committing and profiling
    together) and find nothing whose freeing the end of the process does not do; module teardown still runs."""
    import gc

    gc.freeze()
    gc.disable()


def entry() -> None:
    """The `threshold` command (the console script, `python -m threshold.cli`): `main` in a process of its own.

    An interrupted command exits 130, certainly: the exit handlers run (a share's early conversion and staging
    folder are removed), then the process ends with 130. (CPython 3.11 can end a process that saw a Ctrl-C and
    handled it, `SystemExit(130)` included, with a death by SIGINT instead — seen once in a few dozen interrupted
    shares on a loaded machine, status -2 after "interrupted" was said.) In-process callers use `main`."""
    import atexit

    atexit.register(_keep_heap_at_exit)  # registered first, run last: after the command's own exit handlers
    _Interrupts.install()
    try:
        main()
    except SystemExit as e:
        if e.code != 130:
            raise
    else:
        return
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(130)


if __name__ == "__main__":
    entry()
