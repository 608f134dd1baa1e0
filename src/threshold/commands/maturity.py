"""`threshold maturity show|snapshot|history|assess|assessments` and `threshold maturity target
show|history|set|propose|proposals|approve`: the maturity model and its target picture (docs/maturity.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from threshold.commands.options import As, Format, Home, Note
from threshold.commands.support import acting, check_format, emit, lazy_module, say, show
from threshold.commands.support import platform_at as _platform
from threshold.errors import InvalidInput
from threshold.interface.rendering import Plain, View
from threshold.interface.tables import Col, TableSpec, when

if TYPE_CHECKING:  # what mypy checks the calls against; at run time imported on first use
    from threshold.maturity import assessment, service, snapshots, target
else:
    service = lazy_module("threshold.maturity.service")
    snapshots = lazy_module("threshold.maturity.snapshots")
    target = lazy_module("threshold.maturity.target")
    assessment = lazy_module("threshold.maturity.assessment")

app = typer.Typer()  # registered onto `threshold` by threshold.cli (GROUPS)
maturity_app = typer.Typer(no_args_is_help=True, help="The maturity model: scores, snapshots, target picture.")
target_app = typer.Typer(no_args_is_help=True, help="The target picture: levels, baseline, each domain's target.")
maturity_app.add_typer(target_app, name="target")
app.add_typer(maturity_app, name="maturity")

MAX_FILE = 64_000
Against = Annotated[str, typer.Option("--against", help="then: the target in force at the snapshot; now: today's.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (kept with the change).")]

SNAPSHOTS = TableSpec(
    Col("#", "id", id=True, justify="right"),
    Col("at", "at", fmt=when),
    Col("trigger", "trigger"),
    Col("picture", "picture_version", justify="right"),
    Col("domains", "domains", justify="right"),
    Col("ms", "duration_ms", justify="right"),
)
VERSIONS = TableSpec(
    Col("version", "version", id=True, justify="right"),
    Col("at", "at", fmt=when),
    Col("by", "author"),
    Col("reason", "reason"),
)
PROPOSALS = TableSpec(
    Col("#", "id", id=True, justify="right"),
    Col("domain", "domain"),
    Col("levels", lambda p: ", ".join(f"{k}={v}" for k, v in p.levels.items())),
    Col("status", "status"),
    Col("by", "proposed_by"),
    Col("reason", "reason"),
)
ASSESSMENTS = TableSpec(
    Col("#", "number", id=True, justify="right"),
    Col("at", "at", fmt=when),
    Col("by", "answered_by"),
    Col("answers", lambda a: ", ".join(f"{k}={v}" for k, v in a.answers.items())),
    Col("note", "note"),
)


@maturity_app.command("show")
def show_cmd(
    domain: Annotated[str | None, typer.Argument(help="A domain; left out: the organisation.")] = None,
    against: Against = "then",
    snapshot: Annotated[int | None, typer.Option("--snapshot", help="An older snapshot (organisation view).")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Where the organisation, or one domain, stands (from the newest snapshot)."""
    check_format(fmt)
    p = _platform(home)
    who = acting(p, as_user)
    if domain is None:
        return show(service.dashboard(p, who, against=against, snapshot=snapshot), fmt, View(lines=_board_lines))
    show(service.standing(p, who, domain, against=against), fmt, View(lines=_standing_lines))


def _board_lines(board: Any) -> Iterator[Any]:
    if board.snapshot_id is None:
        yield NO_SNAPSHOT
        return
    cols = [Col("domain", "domain", id=True)]
    cols += [Col(d.replace("_", " "), _cell(i), justify="right") for i, d in enumerate(board.dimensions)]
    title = f"Snapshot #{board.snapshot_id} {when(board.at.isoformat() if board.at else None)}: level/target"
    yield TableSpec(*cols).rich(board.rows, title=title)


NO_SNAPSHOT = "No maturity snapshot yet: take one with `threshold maturity snapshot`."


def _standing_lines(page: Any) -> Iterator[str]:
    if page.snapshot_id is None:
        yield NO_SNAPSHOT
        return
    yield f"{page.title or page.domain} — snapshot #{page.snapshot_id}, target picture v{page.picture_version}"
    for d in page.dimensions:
        yield f"  {d.dimension:<14} {d.score:5.1f}  level {d.level} {d.level_name} (target {d.target})"
        for s in d.signals:
            of = f" of {s.of:g}" if s.of is not None else ""
            yield f"      {s.label}: {s.value:g}{of}  [{s.formula}]"
    for n in page.next_steps:
        yield f"Next: {n.dimension} to level {n.to_level} {n.to_name} (needs {n.needs:g}, {n.gap:g} to go)"
    for m in page.moves:
        names = f": {', '.join(m.datasets)}" if m.datasets else ""
        yield f"  - {m.text}{names}"


@maturity_app.command("snapshot")
def snapshot_cmd(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Score every domain now and keep it (the monthly job does the same)."""
    check_format(fmt)
    p = _platform(home)
    r = snapshots.take(p, acting(p, as_user))
    say(r, fmt, f"Snapshot #{r.id}: {r.domains} domains scored in {r.duration_ms:g} ms")


@maturity_app.command("history")
def history_cmd(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """The snapshots taken, newest first."""
    check_format(fmt)
    p = _platform(home)
    emit(snapshots.history(p, acting(p, as_user)), SNAPSHOTS, fmt)


@maturity_app.command("assess")
def assess_cmd(
    domain: Annotated[str, typer.Argument(help="The domain you answer for.")],
    file: Annotated[Path, typer.Option("--file", help="YAML: question id: answer (0-4).")],
    note: Note = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Record a new version of a domain's self-assessment."""
    import yaml

    check_format(fmt)
    try:
        answers = yaml.safe_load(_read(file))
    except yaml.YAMLError:
        raise InvalidInput(f"{file.name}: not valid YAML") from None
    p = _platform(home)
    r = assessment.assess(p, acting(p, as_user), domain, answers if isinstance(answers, dict) else {}, note=note)
    say(r, fmt, f"{r.domain}: self-assessment version {r.number} recorded")


@maturity_app.command("assessments")
def assessments_cmd(domain: str, as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Every version of a domain's self-assessment."""
    check_format(fmt)
    p = _platform(home)
    emit(assessment.history(p, acting(p, as_user), domain), ASSESSMENTS, fmt)


@target_app.command("show")
def target_show_cmd(
    version: Annotated[int | None, typer.Option("--version", help="An older version.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """The target picture in force (or an older version), as YAML."""
    check_format(fmt)
    p = _platform(home)
    versions = target.history(p, acting(p, as_user))
    chosen = versions[0] if version is None else next((v for v in versions if v.version == version), None)
    if chosen is None:
        raise InvalidInput(f"no target picture version {version}; see `threshold maturity target history`")
    show(chosen, fmt, View(lines=lambda c: [Plain(c.document, highlight=False)]))


@target_app.command("history")
def target_history_cmd(as_user: As = None, home: Home = None, fmt: Format = "table") -> None:
    """Every version of the target picture: when, who, why."""
    check_format(fmt)
    p = _platform(home)
    emit(target.history(p, acting(p, as_user)), VERSIONS, fmt)


@target_app.command("set")
def target_set_cmd(
    file: Annotated[Path, typer.Argument(help="The target picture, YAML (docs/maturity.md).")],
    reason: Reason,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Put a new version of the target picture in force (governance group)."""
    check_format(fmt)
    p = _platform(home)
    v = target.set_picture(p, acting(p, as_user), _read(file), reason=reason)
    say(v, fmt, f"Target picture version {v.version} in force")


@target_app.command("propose")
def target_propose_cmd(
    domain: str,
    level: Annotated[list[str], typer.Option("--level", help="dimension=level (repeat); `default=3` for the rest.")],
    reason: Reason,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Propose a domain's own target; the governance group decides."""
    check_format(fmt)
    levels: dict[str, int] = {}
    for item in level:
        name, _, value = item.partition("=")
        if not value.strip().isdigit():
            raise InvalidInput(f"--level {item[:40]!r}: expected dimension=level, e.g. reuse=4")
        levels[name.strip()] = int(value)
    p = _platform(home)
    r = target.propose(p, acting(p, as_user), domain, levels, reason=reason)
    say(r, fmt, f"Target proposal #{r.id} for {r.domain} waits for the governance group")


@target_app.command("proposals")
def target_proposals_cmd(
    status: Annotated[str | None, typer.Option("--status", help="pending, approved or rejected.")] = None,
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Domains' target proposals."""
    check_format(fmt)
    p = _platform(home)
    emit(target.proposals(p, acting(p, as_user), status=status), PROPOSALS, fmt)


@target_app.command("approve")
def target_approve_cmd(
    proposal: int,
    reject: Annotated[bool, typer.Option("--reject", help="Reject it (say why with --note).")] = False,
    note: Note = "",
    as_user: As = None,
    home: Home = None,
    fmt: Format = "table",
) -> None:
    """Approve a domain's target proposal (a new picture version), or reject it."""
    check_format(fmt)
    p = _platform(home)
    r = target.decide(p, acting(p, as_user), proposal, approve=not reject, note=note)
    say(r, fmt, f"Target proposal #{r.id} {r.status}")


def _cell(i: int) -> Callable[[Any], str]:
    """A dashboard cell as `level/target`."""
    return lambda row: f"{row.cells[i].level}/{row.cells[i].target}"


def _read(file: Path) -> str:
    try:
        if file.stat().st_size > MAX_FILE:
            raise InvalidInput(f"{file.name}: larger than {MAX_FILE // 1000} kB")
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"{file.name}: cannot be read ({type(e).__name__})") from None
