"""Classmates' programs against each other: every student's client with every student's server.

For a program that is both client and server (an assignment whose manifest has an [interop]
table), a batch with --interop builds each handin once more (the graded builds are gone with
their scratch directories), then, for every pair, starts the server and the client as the
manifest says (mytalk: `-N -a PORT` and `-N localhost PORT`) in a fresh network namespace and
passes one line each way. The two programs of a pair are classmates' and are kept apart: as
root each runs as a uid of its own, and each is in a PID namespace of its own where the kernel
gives one (a client must not trace or kill its server). The outcome of a pair is "ok" or a
short reason; every step has the usual deadline, so a pair costs at most a few seconds even
when a program hangs. Work is spread over the batch's workers: one job per build, one job per
client (its row of the matrix). A row's pairs are written as they finish, so a row cut short
by its budget still keeps the pairs it had done.
"""
from __future__ import annotations

import json
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from ..vocabulary import wording
from ..harness.assignments import Assignment, Interop
from ..harness.case import Case, CheckFailure
from .handins import Handin, handin_target
from ..harness.ports import free_port
from ..harness.program import Program
from .progress import Progress
from .report import one_line
from ..settings import Settings
from ..harness.streams import first_of
from ..harness.targets import Target
from .worker import Job, Outcome, Pool

if TYPE_CHECKING:
    from ..harness.session import Grading

OK = "ok"
HOST = "localhost"           # "{host}" in the manifest's [interop] arguments
FROM_CLIENT = "interop line from the client"
FROM_SERVER = "interop line from the server"
ROW_FILE = "pairs.jsonl"
MAX_DETAIL = 200             # characters of what went wrong, after the step that failed


def pair_bound(settings: Settings) -> float:
    """The longest one pair can take when every step runs to its deadline."""
    return settings.start_timeout + 3 * settings.expect_timeout + 2 * settings.exit_timeout + 1


# -- one pair (runs in a worker) ---------------------------------------------------------------

def _first_line(text: str) -> str:
    line = (text.strip().splitlines() or [""])[0]
    return line if len(line) <= MAX_DETAIL else line[:MAX_DETAIL] + "…"


def _ended(program: Optional[Program]) -> str:
    if program is None or program.alive:
        return ""
    return f" ({program.name} ended: {program.status})"


def argv(args: Sequence[str], port: int) -> list[str]:
    """A manifest's [interop] arguments with the port and the host filled in."""
    return [a.replace("{port}", str(port)).replace("{host}", HOST) for a in args]


def asks_pattern(spec: Interop) -> Optional[wording.WordingPattern]:
    """The question a server may ask despite being told to accept (None: it never asks)."""
    return wording.Wording(list(spec.asks), open_end=True).regex if spec.asks else None


def pair(grading: "Grading", spec: Interop, client: Path, server: Path,
         asks: Optional[wording.WordingPattern] = None) -> str:
    """The server and the client as the manifest starts them, a line each way: "ok" or why
    not. A server that asks (`asks`) is answered the manifest's answer, not faulted."""
    case = Case(grading.settings)
    grading.enter_case(case)
    s = grading.settings
    srv = cli = None
    step = "the server did not start"
    try:
        port = free_port()
        env, cwd = grading.env(), str(case.workdir)
        with grading.peer(case, str(server)) as (launch, workdir):   # classmates apart
            srv = Program(case, "server", [str(server), *argv(spec.server, port)],
                          cwd=str(workdir), env=env, launch=launch)
        step = f"the server did not listen within {s.start_timeout:g}s"
        try:
            srv.expect_listening(port)
        except CheckFailure:
            return step + _ended(srv)
        step = "the client did not start"
        cli = Program(case, "client", [str(client), *argv(spec.client, port)], cwd=cwd,
                      env=env, launch=grading.launch(case, str(client)))
        step = "the client's line did not reach the server"
        cli.say(FROM_CLIENT)
        if asks is not None and first_of({"asks": (srv, asks), "line": (srv, FROM_CLIENT)},
                                         s.expect_timeout) == "asks":
            srv.say(spec.answer)
        srv.expect_line(FROM_CLIENT)
        step = "the server's line did not reach the client"
        srv.say(FROM_SERVER)
        cli.expect_line(FROM_SERVER)
        _judge_execs(case)
        return OK
    except CheckFailure as e:
        try:                  # running what it may not is the pair's failure, whatever else
            _judge_execs(case)
        except CheckFailure as refused:
            return _first_line(str(refused))
        seen = _first_line(str(e))
        return step + (_ended(srv) or _ended(cli)) + (f": {seen}" if seen else "")
    finally:
        case.close()


def _judge_execs(case: Case) -> None:
    if case.exec_watch is not None:
        case.exec_watch.judge()


def _row_job(client: Path, servers: list[tuple[str, Path]], assignment: Assignment,
             settings: Settings) -> Callable[[Path], None]:
    """A worker's job: this client against every server, one JSON line per pair."""
    spec = assignment.interop
    assert spec is not None

    def run(staging: Path) -> None:
        from ..harness.session import Grading
        grading = Grading(assignment, Target("interop", "interop"), settings)
        asks = asks_pattern(spec)
        try:
            grading.start()
            with open(staging / ROW_FILE, "w", encoding="utf-8", errors="surrogateescape") as f:
                for name, server in servers:
                    f.write(json.dumps([name, pair(grading, spec, client, server, asks)]) + "\n")
                    f.flush()
        finally:
            grading.close()
    return run


def _build_job(handin: Handin, dest: Path, assignment: Assignment, settings: Settings,
               talk_lib: Optional[Path]) -> Callable[[Path], None]:
    """A worker's job: build the handin once more and keep the program in `dest`."""
    def run(staging: Path) -> None:
        from ..harness.session import Grading
        target = handin_target(handin, handin.name, assignment)
        assert target is not None            # only handins that built are paired
        grading = Grading(assignment, target, settings, talk_lib=talk_lib)
        try:
            grading.start()
            dest.mkdir(mode=0o755)
            shutil.copy2(grading.argv[0], dest / assignment.program)
            (dest / assignment.program).chmod(0o755)
        finally:
            grading.close()
    return run


# -- the whole matrix (runs in the batch process) ----------------------------------------------

def run(handins: list[Handin], assignment: Assignment, settings: Settings, pool: Pool,
        staging: Path, talk_lib: Optional[Path] = None) -> Optional[dict[tuple[str, str], str]]:
    """Every client against every server, on the batch's pool; None when ^C stopped it."""
    if not handins:
        return {}
    bindir = Path(tempfile.mkdtemp(prefix="grade-interop-"))
    bindir.chmod(0o711)              # student programs may run as another user
    # Names no other user can guess: the programs must be readable by every leased uid.
    dirs = {f"b{i}": f"b{i}-{secrets.token_hex(8)}" for i in range(len(handins))}
    try:
        built: dict[str, Path] = {}
        progress = Progress(len(handins), "interop: builds")

        def build_done(outcome: Outcome) -> None:
            program = bindir / dirs[outcome.job.staging.name] / assignment.program
            if outcome.ok and program.is_file():
                built[outcome.job.key] = program
            shutil.rmtree(outcome.job.staging, ignore_errors=True)
            progress.line(f"interop build {one_line(outcome.job.key)}: "
                          + ("ok" if outcome.job.key in built else "failed"),
                          important=outcome.job.key not in built)

        jobs = [Job(h.name, _build_job(h, bindir / dirs[f"b{i}"], assignment, settings,
                                       talk_lib),
                    staging / f"b{i}", settings.build_timeout + 30) for i, h in enumerate(handins)]
        finished = pool.run(jobs, build_done, progress.tick)
        progress.close()
        if not finished:
            return None

        names = sorted(built, key=lambda n: (n.casefold(), n))
        servers = [(n, built[n]) for n in names]
        matrix: dict[tuple[str, str], str] = {}
        progress = Progress(len(names), "interop: clients")

        def row_done(outcome: Outcome) -> None:
            client = outcome.job.key
            done = _read_row(outcome.job.staging / ROW_FILE)
            why = "not run: " + ("the row ran out of time" if outcome.timed_out
                                 else "the grader's worker failed")
            for server in names:
                matrix[(client, server)] = done.get(server, why)
            shutil.rmtree(outcome.job.staging, ignore_errors=True)
            good = sum(done.get(s) == OK for s in names)
            progress.line(f"interop client {one_line(client)}: {good} of {len(names)} servers ok",
                          important=good < len(names))

        budget = len(servers) * pair_bound(settings) + 10
        jobs = [Job(n, _row_job(built[n], servers, assignment, settings), staging / f"r{i}",
                    budget) for i, n in enumerate(names)]
        finished = pool.run(jobs, row_done, progress.tick)
        progress.close()
        return matrix if finished else None
    finally:
        shutil.rmtree(bindir, ignore_errors=True)


def _read_row(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                try:
                    server, outcome = json.loads(line)
                except ValueError:
                    break                # the last line was being written when time ran out
                found[server] = outcome
    except OSError:
        pass
    return found
