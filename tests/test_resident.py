"""The resident query helper, with real processes: `threshold query` through the helper prints exactly
what the in-process command prints and records the same usage and audit; only this user may use it;
it makes way for new code, leaves when idle, and a killed or hung helper costs nothing but time.

No sleeps: a test waits for a helper to end on its pidfd, within a bound.

The module shares one home and its default helper (`sole_helper`); only a test that kills, replaces, hangs or
keys a helper differently starts its own. The in-process side of a comparison runs in the test's own process
(`inprocess`, the real `threshold.cli.main`); the side through the helper is always a real `threshold` process
(the thin client) and the helper's real child."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import inprocess
import killed
from threshold.resident import client, helper, protocol
from threshold.resident.helper import Idle
from threshold.sharing import digest

pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_PEERCRED"), reason="Linux peer credentials")

KPIS_CSV = """Plant,Operator Name,E-Mail,Scrap Rate,Day
Berlin,Anna Schmidt,anna.schmidt@example.com,0.12,2026-01-03
Lyon,Jean Dupont,jean.dupont@example.fr,0.08,2026-01-04
Porto,Ana Silva,ana.silva@example.pt,0.05,2026-01-05
"""
SRC = Path(__file__).parent.parent / "src"


def environment(resident: bool, **extra: str) -> dict[str, str]:
    """A `threshold` process's whole environment. It keeps this run's PYTHONPATH (a source tree put ahead of the
    installed package): the processes and their helpers then run the code this process imported, and the
    thin client in this process (`_forward`) finds the helpers they start (same code, same key)."""
    kept = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
    return {
        **kept,
        "PATH": "/usr/bin:/bin",
        "COLUMNS": "80",
        "LC_ALL": "C.UTF-8",  # as given: the interpreter would otherwise add LC_CTYPE (PEP 538), another key
        "THRESHOLD_RESIDENT": "1" if resident else "0",
        "THRESHOLD_RESIDENT_IDLE_SECONDS": "60",
        **extra,
    }


def threshold(home: Path, *args: str, resident: bool, **extra: str) -> subprocess.CompletedProcess[str]:
    """`threshold ARGS --home HOME` in a fresh process, with the helper on or off."""
    return subprocess.run(
        [sys.executable, "-m", "threshold.cli", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment(resident, **extra),
    )


def here(home: Path, *args: str, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    """`threshold ARGS --home HOME` in this process with the helper off (in `cwd`): the in-process output."""
    with contextlib.chdir(cwd or os.getcwd()):
        return inprocess.threshold(*args, home=home, env=environment(False, **extra))


def helpers(home: Path) -> dict[Path, int]:
    """Each listening helper's socket and its pid (from the socket's peer credentials)."""
    found = {}
    for path in (home / protocol.RUN_DIR).glob("query-*.sock"):
        where, folder = protocol.address(str(path))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(where)
            except ConnectionRefusedError:
                continue
            finally:
                if folder is not None:
                    os.close(folder)
            found[path] = protocol.peer(s)[0]
    return found


def wait_gone(pid: int, seconds: float = 30.0) -> bool:
    """True once process `pid` has ended (it is not our child: wait on its pidfd), within `seconds`."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], seconds)[0])
    finally:
        os.close(fd)


def stop_helpers(home: Path, keep: Path | None = None) -> None:
    """Stop the home's helpers (but the one listening at `keep`)."""
    for path, pid in helpers(home).items():
        if path != keep:
            os.kill(pid, signal.SIGTERM)
            assert wait_gone(pid)


def default_socket(home: Path) -> Path:
    """The socket of the helper that serves `environment(True)`: the module's shared helper."""
    return Path(protocol.socket_path(str(home), protocol.helper_key(environment(True))))


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("resident")
    path, data = tmp / "home", tmp / "plant_kpis.csv"
    data.write_text(KPIS_CSV, encoding="utf-8")
    for args in (
        ("init",),
        ("domain", "add", "manufacturing", "--title", "Manufacturing"),
        ("user", "add", "anna", "--domain", "manufacturing", "--display-name", "Anna Schmidt"),
        ("user", "add", "bo", "--display-name", "Bo"),
        ("share", str(data), "--domain", "manufacturing", "--as", "anna", "--purpose", "reporting"),
    ):
        done = here(path, *args)
        assert done.returncode == 0, done.stderr
    yield path
    stop_helpers(path)


@pytest.fixture
def sole_helper(home: Path) -> int:
    """The home's default helper, and no other (started when there is none): its pid."""
    keep = default_socket(home)
    stop_helpers(home, keep=keep)
    if keep not in helpers(home):
        assert _forward(home, "datasets")[0] == 0
    [(sock, pid)] = list(helpers(home).items())
    assert sock == keep
    for child in _children(pid):  # an earlier test's command, ending
        assert wait_gone(child)
    return pid


def same(a: str) -> str:
    """A table's last line says how long the query took: the only part two runs may differ in."""
    return re.sub(r" in \d+ ms$", " in N ms", a, flags=re.M)


@pytest.mark.parametrize(
    "args",
    [
        ("query", "select plant, scrap_rate from manufacturing.plant_kpis order by plant"),
        ("query", "select * from manufacturing.plant_kpis order by plant", "--format", "json"),
        ("query", "select * from manufacturing.plant_kpis order by plant", "--format", "csv", "--as", "bo"),
        ("query", "select e_mail from manufacturing.plant_kpis", "--as", "bo", "--purpose", "audit"),
        ("query", "select * from manufacturing.nothing"),
        ("query", "select * from read_csv('/etc/passwd')"),
        ("query", "select 1", "--format", "xml"),
        ("query", "select 1", "--as", "nobody"),
        ("query", "select 1", "--no-such-option"),
        ("datasets", "--format", "json"),
        ("show", "manufacturing.plant_kpis", "--as", "bo"),
    ],
    ids=[
        "table",
        "json",
        "csv-as-bo",
        "masked",
        "unknown",
        "path",
        "bad-format",
        "unknown-user",
        "bad-option",
        "ds",
        "show",
    ],
)
def test_output_is_the_in_process_output(home: Path, args: tuple[str, ...]) -> None:
    in_process = here(home, *args)
    there = threshold(home, *args, resident=True)

    assert (there.returncode, same(there.stdout), there.stderr) == (
        in_process.returncode,
        same(in_process.stdout),
        in_process.stderr,
    )
    assert helpers(home), "the helper served it"
    assert "Traceback" not in there.stderr


def _events(home: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """Usage events (with what each read) and audit entries, without their ids and times."""
    with sqlite3.connect(home / "threshold.db") as db:
        events = db.execute(
            "select id, user_id, interface, purpose, fingerprint, query_text, rows, status, error, kind"
            " from usage_events order by id"
        ).fetchall()
        reads = db.execute("select event_id, dataset_id, columns from usage_reads").fetchall()
        audit = db.execute("select actor_id, action, dataset_id, purpose, rules from audit_log order by id").fetchall()
    by_event: dict[object, list[tuple[object, ...]]] = {}
    for event, dataset, columns in reads:
        by_event.setdefault(event, []).append((dataset, columns))
    return [(*e[1:], sorted(by_event.get(e[0], []))) for e in events], audit


def test_usage_and_audit_are_those_of_the_in_process_run(home: Path) -> None:
    sql = "select plant, e_mail from manufacturing.plant_kpis where scrap_rate > 0.06"
    events0, audit0 = _events(home)
    assert here(home, "query", sql, "--as", "bo", "--purpose", "audit").returncode == 0
    events1, audit1 = _events(home)
    assert threshold(home, "query", sql, "--as", "bo", "--purpose", "audit", resident=True).returncode == 0
    events2, audit2 = _events(home)

    in_process = (events1[len(events0) :], audit1[len(audit0) :])
    resident = (events2[len(events1) :], audit2[len(audit1) :])
    assert len(in_process[0]) == 1 and in_process[0][0][1] == "cli"
    assert resident == in_process


def _forward(home: Path, *args: str, **extra: str) -> tuple[int | None, str, str]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, open(os.devnull) as null:
        code = client.forward(
            [*args, "--home", str(home)], environment(True, **extra), (null.fileno(), out.fileno(), err.fileno())
        )
        out.seek(0)
        err.seek(0)
        return code, out.read().decode(), err.read().decode()


def test_the_thin_client_hands_the_command_to_the_helper(home: Path) -> None:
    code, out, err = _forward(home, "query", "select count(*) as n from manufacturing.plant_kpis", "--format", "json")

    assert (code, json.loads(out), err) == (0, [{"n": 3}], "")


def test_a_socket_others_may_open_is_not_used(home: Path) -> None:
    assert _forward(home, "query", "select 1")[0] == 0
    sock = next(iter(helpers(home)))
    sock.chmod(0o666)
    try:
        assert _forward(home, "query", "select 1")[0] is None
    finally:
        sock.chmod(0o600)
    run = home / protocol.RUN_DIR
    run.chmod(0o755)
    try:
        assert _forward(home, "query", "select 1")[0] is None
    finally:
        run.chmod(0o700)
    assert _forward(home, "query", "select 1")[0] == 0


def test_the_peer_check_names_the_other_user_or_group() -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        assert protocol.check_peer(a) == os.getpid()
        with pytest.raises(protocol.Refused, match="another user"):
            protocol.check_peer(a, uid=os.geteuid() + 1)
        with pytest.raises(protocol.Refused, match="another group"):
            protocol.check_peer(a, gid=os.getegid() + 1)


def test_off_unless_switched_on_under_pytest_or_ci() -> None:
    assert protocol.enabled({"THRESHOLD_RESIDENT": "1", "PYTEST_CURRENT_TEST": "x"})
    assert not protocol.enabled({"THRESHOLD_RESIDENT": "off"})
    assert not protocol.enabled({"PYTEST_CURRENT_TEST": "x"})
    assert not protocol.enabled({"CI": "true"})
    child = subprocess.run(
        [sys.executable, "-c", "from threshold.resident.protocol import enabled; print(enabled({}))"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}},
        timeout=60,
    )
    assert child.stdout.strip() == "False"  # its parent is pytest


def test_a_killed_helper_is_replaced_the_answer_is_the_same_and_gone_helpers_sockets_are_cleared(
    home: Path, sole_helper: int
) -> None:
    sql = "select count(*) as n from manufacturing.plant_kpis"
    first = threshold(home, "query", sql, "--format", "json", resident=True)
    [(sock, pid)] = list(helpers(home).items())
    os.kill(pid, signal.SIGKILL)
    assert wait_gone(pid)
    assert sock.exists()  # a stale socket, refused at connect
    run = home / protocol.RUN_DIR
    stale = run / "query-0000000000000000.sock"  # and one of a helper of other settings, gone too
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as dead:
        dead.bind(str(stale))  # bound, never listening, then closed: what a killed helper leaves
    stale.chmod(0o600)
    (run / "query-0000000000000000.log").write_text("")

    again = threshold(home, "query", sql, "--format", "json", resident=True)

    assert (again.returncode, again.stdout, again.stderr) == (first.returncode, first.stdout, first.stderr)
    assert list(helpers(home)) == [sock] and helpers(home)[sock] != pid
    assert not stale.exists() and not (run / "query-0000000000000000.log").exists()  # the new helper cleared both


def test_a_hung_helper_costs_a_short_wait_then_the_command_runs_here(home: Path, sole_helper: int) -> None:
    assert _forward(home, "query", "select 1")[0] == 0
    [pid] = helpers(home).values()
    impatient = {"THRESHOLD_RESIDENT_ANSWER_SECONDS": "0.2"}  # the client's own setting: the same helper serves it
    assert protocol.helper_key(environment(True, **impatient)) == protocol.helper_key(environment(True))
    os.kill(pid, signal.SIGSTOP)
    try:
        in_process = here(home, "query", "select 2 as two", "--format", "json")
        code, out, err = _forward(home, "query", "select 2 as two", "--format", "json", **impatient)
        assert code is None  # nothing ran there; the CLI runs it in-process
        there = threshold(home, "query", "select 2 as two", "--format", "json", resident=True, **impatient)
        assert (there.returncode, there.stdout, there.stderr) == (
            in_process.returncode,
            in_process.stdout,
            in_process.stderr,
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert helpers(home) == {default_socket(home): pid}  # it serves again, and nothing ran twice


def test_idle_counts_from_the_last_command_and_never_while_one_runs() -> None:
    now = [100.0]
    idle = Idle(30.0, clock=lambda: now[0])
    now[0] = 120.0
    assert idle.remaining() == 10.0
    idle.started()
    now[0] = 500.0
    assert idle.remaining() is None
    idle.ended()
    now[0] = 529.0
    assert idle.remaining() == 1.0
    now[0] = 531.0
    assert idle.remaining() == 0.0


def test_a_key_changes_with_the_code_and_the_settings() -> None:
    env = {"THRESHOLD_LIMITS__QUERY_ROWS": "5", "HOME": "/x"}
    assert protocol.helper_key(env, "a") == protocol.helper_key(env, "a", protocol.credentials())
    assert protocol.helper_key(env, "a", "1000:1000:1000") != protocol.helper_key(env, "a", "1000:1000:27,1000")
    assert protocol.helper_key(env, "a") == protocol.helper_key({**env, "HOME": "/y"}, "a")
    assert protocol.helper_key(env, "a") != protocol.helper_key(env, "b")
    assert protocol.helper_key(env, "a") != protocol.helper_key({**env, "THRESHOLD_LIMITS__QUERY_ROWS": "6"}, "a")
    assert protocol.helper_key(env, "a") != protocol.helper_key({**env, "LANG": "C"}, "a")
    for patience in ("THRESHOLD_RESIDENT_START_SECONDS", "THRESHOLD_RESIDENT_ANSWER_SECONDS"):  # the client's own
        assert protocol.helper_key(env, "a") == protocol.helper_key({**env, patience: "0.5"}, "a")
    assert protocol.answer_seconds({"THRESHOLD_RESIDENT_ANSWER_SECONDS": "0.5"}) == 0.5
    assert protocol.answer_seconds({"THRESHOLD_RESIDENT_ANSWER_SECONDS": "-1"}) == protocol.ANSWER_SECONDS
    assert protocol.answer_seconds({}) == protocol.ANSWER_SECONDS


def test_the_home_is_found_as_the_cli_finds_it(tmp_path: Path) -> None:
    cwd = str(tmp_path)
    assert protocol.home_dir(["query", "x"], {}, cwd) == str(tmp_path / ".threshold")
    assert protocol.home_dir(["query", "x"], {"THRESHOLD_HOME": "h"}, cwd) == str(tmp_path / "h")
    assert protocol.home_dir(["query", "x", "--home", "/a"], {"THRESHOLD_HOME": "h"}, cwd) == "/a"
    assert protocol.home_dir(["query", "--home=/b", "x"], {}, cwd) == "/b"
    assert protocol.home_dir(["query", "--", "--home", "/c"], {}, cwd) == str(tmp_path / ".threshold")


@pytest.fixture
def child_ended() -> Iterator[helper.ChildEnded]:
    """The helper's wake-up on a child's end, installed in this process for the test, put back after."""
    ended = helper.ChildEnded()
    try:
        yield ended
    finally:
        ended.close()


def test_a_child_that_ends_wakes_the_helper_at_once(tmp_path: Path) -> None:
    """A child's end wakes the helper's wait (which would otherwise last until its next check): it reaps the
    child and imports what a share needs before the next command comes."""
    handler, fd = signal.getsignal(signal.SIGCHLD), signal.set_wakeup_fd(-1)
    signal.set_wakeup_fd(fd)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(tmp_path / "s.sock"))
        listener.listen()
        ended = helper.ChildEnded()
        try:
            assert helper.wait_for(listener, ended, 0.0) == (False, False)
            child = subprocess.Popen([sys.executable, "-c", "pass"])
            assert helper.wait_for(listener, ended, 120.0) == (False, True)  # long before the 120 s
            assert child.wait() == 0
            assert helper.wait_for(listener, ended, 0.0) == (False, False)  # drained: no second wake
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as caller:
                caller.connect(str(tmp_path / "s.sock"))
                assert helper.wait_for(listener, ended, 120.0) == (True, False)
        finally:
            ended.close()
    assert signal.getsignal(signal.SIGCHLD) == handler  # both put back as they were
    assert signal.set_wakeup_fd(fd) == fd


def test_a_helper_warming_up_lets_a_waiting_caller_go_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A helper imports what commands use one module at a time when it is idle (`_preload`): a caller who
    connects meanwhile is served first, and the rest is imported at the next idle moment."""
    done: list[str] = []
    monkeypatch.setattr(helper, "_import", lambda name: done.append(name))
    names = ["first.module", helper.BUILD, "second.module"]
    monkeypatch.setattr(helper, "_build", lambda: done.append("built"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(tmp_path / "s.sock"))
        listener.listen()
        assert helper._preload(names, listener) == [] and done == ["first.module", "built", "second.module"]
        done.clear()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as caller:
            caller.connect(str(tmp_path / "s.sock"))
            assert helper._preload(names, listener) == names and done == []  # the caller first
            listener.accept()[0].close()
        assert helper._preload(names[1:], listener) == [] and done == ["built", "second.module"]


def test_a_full_helper_says_busy_and_runs_nothing(child_ended: helper.ChildEnded) -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with b, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        protocol.send(b, {"argv": ["query", "select 1"], "env": {}, "umask": 0o22})

        assert helper._take(a, listener, child_ended, 0, lambda: pytest.fail("ran")) is None
        assert protocol.receive(b)[0] == {"answer": "busy"}


@pytest.mark.parametrize(
    "request_",
    [
        {"argv": ["domain", "add", "d"], "env": {}, "umask": 0o22},  # not a command the helper runs
        {"argv": ["query", "select 1"], "env": {"A": 1}, "umask": 0o22},
        {"argv": "query", "env": {}, "umask": 0o22},
        {"argv": ["query"], "env": {}},
    ],
    ids=["write-command", "env-not-text", "argv-not-list", "no-umask"],
)
def test_a_request_out_of_shape_is_refused(request_: dict[str, object], child_ended: helper.ChildEnded) -> None:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with b, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        protocol.send(b, request_)

        assert helper._take(a, listener, child_ended, 4, lambda: pytest.fail("ran")) is None
        with pytest.raises(EOFError):
            protocol.receive(b)


def _on_a_terminal(home: Path, resident: bool, *args: str) -> tuple[int, bytes]:
    """Run `threshold ARGS` with a terminal 70 columns wide as its stdout and stderr: what it wrote there."""
    import fcntl
    import pty
    import struct
    import termios

    main, side = pty.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 70, 0, 0))
    env = {**environment(resident), "TERM": "xterm-256color"}
    env.pop("COLUMNS")
    with subprocess.Popen(
        [sys.executable, "-m", "threshold.cli", *args, "--home", str(home)], stdout=side, stderr=side, env=env
    ) as process:
        os.close(side)
        written = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            written += chunk
        code = process.wait(timeout=120)
    os.close(main)
    return code, re.sub(rb"\d+(\x1b\[0m)? ms", b"N ms", written)


def test_on_a_terminal_the_output_is_the_same_colours_and_width(home: Path) -> None:
    sql = "select plant, operator_name, scrap_rate from manufacturing.plant_kpis order by plant"
    here = _on_a_terminal(home, False, "query", sql)
    there = _on_a_terminal(home, True, "query", sql)

    assert there == here
    assert b"\x1b[" in here[1]  # coloured: it knew it was on a terminal


# -- threshold share through the helper --------------------------------------------------------------------


def share(home: Path, cwd: Path, *args: str, resident: bool) -> subprocess.CompletedProcess[str]:
    """`threshold share ARGS --home HOME` run from the folder `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "threshold.cli", "share", *args, "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment(resident),
        cwd=cwd,
    )


def _shared(out: str) -> list[dict[str, object]]:
    """`share --format json`'s results without what differs between two shares of one file."""
    return [{k: v for k, v in r.items() if k not in ("dataset", "snapshot_id", "seconds")} for r in json.loads(out)]


def test_a_share_reads_the_file_from_the_callers_folder_and_says_what_the_in_process_share_says(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kpis.csv").write_text(KPIS_CSV, encoding="utf-8")
    args = ("kpis.csv", "--domain", "manufacturing", "--as", "anna", "--format", "json")

    in_process = here(home, "share", *args, "--name", "kpis_here", cwd=tmp_path)
    there = share(home, tmp_path, *args, "--name", "kpis_there", resident=True)

    assert (there.returncode, there.stderr) == (in_process.returncode, in_process.stderr) == (0, "")
    assert _shared(there.stdout) == _shared(in_process.stdout)
    assert ["e_mail", "personal.email"] in _shared(in_process.stdout)[0]["tags"]  # type: ignore[operator]
    assert helpers(home), "the helper served it"
    shown = [here(home, "show", f"manufacturing.kpis_{name}", "--format", "json") for name in ("here", "there")]
    keep = ("rows", "columns", "tags", "shared_by", "purpose", "size_bytes", "source", "schema")
    here_shown, there_shown = ({k: json.loads(s.stdout)[k] for k in keep} for s in shown)
    assert there_shown == here_shown and here_shown["source"]["sha256"]  # the profile, tags and source recorded
    monkeypatch.chdir(tmp_path)  # the thin client itself: the helper ran it (None would mean "run it here")
    code, out, err = _forward(home, "share", "kpis.csv", "--domain", "manufacturing", "--name", "kpis_thin")
    assert (code, err) == (0, "") and out.startswith("shared manufacturing.kpis_thin (create): 3 rows added")


PIPE_FULL = 1_000_000
"""Bytes of output that no pipe holds at once (64 KiB by default): their writer waits for the reader."""


def test_other_settings_get_their_own_helper_which_leaves_when_idle_and_takes_its_socket(
    home: Path, sole_helper: int
) -> None:
    assert threshold(home, "query", "select 1", resident=True).returncode == 0
    other = {"THRESHOLD_LIMITS__QUERY_ROWS": "5", "THRESHOLD_RESIDENT_IDLE_SECONDS": "0.2"}
    big = f"select repeat('x', {PIPE_FULL}) as x"  # its output fills the pipe: the command runs until it is read
    with subprocess.Popen(
        [sys.executable, "-m", "threshold.cli", "query", big, "--format", "csv", "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(True, **other),
    ) as running:
        assert running.stdout is not None
        first = os.read(running.stdout.fileno(), 1)  # its command has started (there, or here)
        found = helpers(home)  # one look while the command runs: the other helper cannot leave before its end
        rest, err = running.communicate(timeout=120)
    assert (running.returncode, first + rest, err) == (0, b'"x"\n"' + b"x" * PIPE_FULL + b'"\n', b"")

    assert len(set(found.values())) == 2
    [(sock, pid)] = [(s, p) for s, p in found.items() if p != sole_helper]
    assert wait_gone(pid)
    assert not sock.exists()
    assert helpers(home) == {default_socket(home): sole_helper}  # the default one stays


def test_new_code_gets_a_new_helper_and_the_old_one_leaves(home: Path, tmp_path: Path) -> None:
    stop_helpers(home)
    shutil.copytree(SRC / "threshold", tmp_path / "threshold")  # with its bytecode (valid: same sizes and times)
    with_copy = {"PYTHONPATH": str(tmp_path)}
    assert threshold(home, "query", "select 1", resident=True, **with_copy).returncode == 0
    [(old_sock, old)] = list(helpers(home).items())

    touched = tmp_path / "threshold" / "gateway" / "service.py"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 1_000_000_000))
    assert threshold(home, "query", "select 1", resident=True, **with_copy).returncode == 0

    assert wait_gone(old), "the old helper saw its code change"
    [(sock, new)] = list(helpers(home).items())
    assert new != old and sock != old_sock and not old_sock.exists()


def test_a_first_call_share_records_the_files_sha256_hashed_while_the_helper_started(
    home: Path, tmp_path: Path
) -> None:
    body = KPIS_CSV + "".join(f"P{i},Op {i},x{i}@example.com,0.{i % 10},2026-01-06\n" for i in range(20_000))
    (tmp_path / "first.csv").write_text(body, encoding="utf-8")
    stop_helpers(home)  # the client starts one: it hashes meanwhile and hands the digest over

    done = share(home, tmp_path, "first.csv", "--domain", "manufacturing", "--as", "anna", resident=True)

    assert (done.returncode, done.stderr) == (0, "") and helpers(home), "a helper started and served it"
    shown = json.loads(here(home, "show", "manufacturing.first", "--format", "json").stdout)
    assert shown["source"]["sha256"] == hashlib.sha256(body.encode()).hexdigest()
    # That helper listened before warming up (its first child imported what the share needs beside its own
    # conversion); it serves the read commands that come next all the same.
    [pid] = helpers(home).values()
    assert Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[-2] == protocol.LISTEN_FIRST.encode()
    assert _forward(home, "datasets", "--format", "json")[0] == 0

    # The client's part: starting a helper for a share starts hashing the file, and hands the finished digest over.
    stop_helpers(home)
    env = environment(True)
    code = protocol.code_fingerprint()
    path = protocol.socket_path(str(home), protocol.helper_key(env, code))
    argv = ["share", str(tmp_path / "first.csv"), "--domain", "manufacturing", "--home", str(home)]
    conn, started = client._start(str(home), path, code, env, argv)
    assert conn is not None and started is not None
    conn.close()
    assert started.result() == hashlib.sha256(body.encode()).hexdigest()
    offer = digest.handed_over(started)
    assert offer is not None and offer["sha256"] == started.value and offer["path"] == str(tmp_path / "first.csv")


@pytest.mark.parametrize(
    "args",
    [
        ("missing.csv", "--domain", "manufacturing"),
        ("kpis.csv", "--domain", "nowhere"),
        ("kpis.csv", "--domain", "manufacturing", "--as", "bo"),
        ("kpis.csv", "--domain", "manufacturing", "--name", "plant_kpis"),
        ("-", "--domain", "manufacturing"),
    ],
    ids=["no-file", "no-domain", "not-a-member", "exists", "stdin"],
)
def test_a_refused_share_says_the_same_line_through_the_helper(
    home: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "kpis.csv").write_text(KPIS_CSV, encoding="utf-8")

    in_process = here(home, "share", *args, cwd=tmp_path)
    there = share(home, tmp_path, *args, resident=True)

    assert (there.returncode, there.stdout, there.stderr) == (
        in_process.returncode,
        in_process.stdout,
        in_process.stderr,
    )
    assert in_process.returncode != 0 and in_process.stderr.startswith("error: ")
    assert in_process.stderr.count("\n") == 1


BIG_ROWS = 2_000_000
"""Enough rows that converting them takes seconds, so an interrupt lands while DuckDB converts."""


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import duckdb

    path = tmp_path_factory.mktemp("big") / "big.csv"
    duckdb.sql(
        f"COPY (SELECT i AS id, 'Plant ' || (i % 97) AS plant, md5(i::VARCHAR) AS batch, (i % 1000) / 1000.0 AS rate"
        f" FROM range({BIG_ROWS}) t(i)) TO '{path}' (HEADER, DELIMITER ',')"
    )
    return path


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """A child started inside takes Ctrl-C, as a terminal's foreground job does, even when this run was started
    with SIGINT ignored (a background job of a shell, `make test &`): a child inherits an ignored signal."""
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # reset to the default in a child at exec
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _children(helper_pid: int) -> list[int]:
    """The helper's children still running (an ended one stays listed until the helper reaps it)."""
    running = []
    for child in Path(f"/proc/{helper_pid}/task/{helper_pid}/children").read_text().split():
        with contextlib.suppress(FileNotFoundError):  # reaped meanwhile
            if Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                running.append(int(child))
    return running


def _child_of(helper_pid: int) -> int:
    [child] = _children(helper_pid)
    return child


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "caller-killed"])
def test_a_share_interrupted_or_left_by_its_caller_stops_and_cleans_up(
    home: Path, big_csv: Path, how: signal.Signals, sole_helper: int
) -> None:
    helper_pid = sole_helper  # a warm helper, the only one
    before = here(home, "datasets", "--format", "json").stdout
    with _interruptible():
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "threshold.cli",
                "share",
                str(big_csv),
                "--domain",
                "manufacturing",
                "--home",
                str(home),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(True),
        )
    killed.while_converting(home, proc)
    child = _child_of(helper_pid)

    proc.send_signal(how)
    out, err = proc.communicate(timeout=120)

    assert wait_gone(child, 120), "the helper's child stopped the share"
    if how == signal.SIGINT:  # the same as an interrupted in-process share: one line, exit 130
        assert (proc.returncode, out, err) == (130, "", "interrupted\n")
    else:
        assert proc.returncode == -signal.SIGKILL
    assert here(home, "datasets", "--format", "json").stdout == before
    assert list((home / "staging").iterdir()) == []
    assert not (home / "warehouse" / "manufacturing" / "big").exists()
