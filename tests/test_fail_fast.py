"""A program that dies or hangs is judged at once, by what it did, with what it said in view.

No timing is asserted here (bench/broken.py measures it): each test asserts the reason a
check gives, which is only reachable when the wait ended on the event, not its deadline.
"""
import os
import select
import subprocess

import pytest

from grader.harness.case import Case
from grader.harness.program import Program
from grader.settings import Settings

REFUSED = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) { fprintf(stderr, "connect: Connection refused\n"); exit(1); }
"""
PAUSE = r"""
#include <unistd.h>
int main(void) { pause(); return 0; }
"""
ABORT = r"""
#include <stdlib.h>
int main(void) { abort(); }
"""
# A server that takes the name, answers "ok" and then resets the connection at once.
RESET = r"""
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char *argv[]) {
    int port = atoi(argv[argc - 1]), one = 1, s, c;
    char buf[256];
    struct sockaddr_in a;
    struct linger off = {1, 0};
    if (argc != 3) return 1;                 /* only the server role: mytalk -N PORT */
    s = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = INADDR_ANY;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 5)) { perror("bind"); return 1; }
    c = accept(s, NULL, NULL);
    recv(c, buf, sizeof buf, 0);
    send(c, "ok", 2, 0);
    setsockopt(c, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    close(c);
    pause();
    return 0;
}
"""


@pytest.fixture
def compile_c(tmp_path):
    def build(name: str, source: str) -> str:
        c = tmp_path / f"{name}.c"
        c.write_text(source)
        out = tmp_path / name
        subprocess.run(["gcc", "-o", str(out), str(c)], check=True)
        out.chmod(0o755)
        return str(out)
    return build


def check(g, cid):
    return next(c for c in g.result["checks"] if c["id"] == cid)


def test_exit_ends_the_wait_and_its_words_are_in_the_transcript(compile_c, grade):
    g = grade("asgn5", compile_c("mytalk", REFUSED), "-k", "client_chat_both_ways")
    assert g.code == 1, g.stderr
    c = check(g, "client_chat_both_ways")
    assert c["status"] == "failed"
    assert "exited with status 1" in c["message"]
    assert "connect: Connection refused" in c["transcript"]
    # Said before it exited, and the exit is where it happened in the transcript.
    assert c["transcript"].index("Connection refused") < c["transcript"].index("exit status 1")


def test_an_exit_however_seen_comes_after_the_programs_last_words(tmp_path):
    """The exit seen first by a look at whether it is alive, before anything read its
    terminal: what it printed is taken in all the same, and comes before its exit."""
    case = Case(Settings())
    try:
        me = Program(case, "mytalk", ["sh", "-c", "echo 'connect: Connection refused' >&2; exit 1"],
                     cwd=str(tmp_path), env=dict(os.environ), launch=[])
        assert select.select([me._pidfd], [], [], case.settings.exit_timeout)[0]
        assert not me.alive
        assert "Connection refused" in me._pending()
        text = case.transcript.render()
        assert text.index("Connection refused") < text.index("exit status 1")
    finally:
        case.close()


def test_a_program_in_pause_is_judged_stuck_not_slow(compile_c, grade):
    g = grade("asgn5", compile_c("mytalk", PAUSE), "-k", "client_sends_username or server_listens")
    assert g.code == 1, g.stderr
    for cid in ("client_sends_username", "server_listens"):
        c = check(g, cid)
        assert c["status"] == "failed"
        assert "waiting in pause()" in c["message"], c["message"]
        assert "within" not in c["message"], c["message"]      # not its deadline


@pytest.mark.slow
def test_a_program_that_aborts_fails_every_check_by_its_signal(compile_c, grade):
    g = grade("asgn5", compile_c("mytalk", ABORT))
    assert g.code == 1, g.stderr
    statuses = {c["status"] for c in g.result["checks"]}
    assert statuses == {"failed"}
    assert all("SIGABRT" in c["message"] for c in g.result["checks"]), \
        [c["message"] for c in g.result["checks"] if "SIGABRT" not in c["message"]]


@pytest.mark.slow
def test_a_reset_after_the_handshake_is_the_program_closing(compile_c, grade):
    g = grade("asgn5", compile_c("mytalk", RESET), "-k",
              "server_chat_both_ways or server_fd_stable")
    assert g.code == 1, g.stderr
    for cid in ("server_chat_both_ways", "server_fd_stable"):
        c = check(g, cid)
        assert c["status"] == "failed", c
        assert "internal error" not in c["message"]


@pytest.mark.parametrize("code, call", [
    ("import signal; signal.pause()", "pause()"),
    ("import sys; sys.stdin.buffer.read(1)", "read() on a pipe"),
    ("import select, sys; select.select([sys.stdin], [], [])", "select()"),
])
def test_a_program_waiting_for_outside_input_is_seen_stalled(code, call):
    import sys
    import time

    from grader.harness.stall import BLOCKING, StallWatch
    if not BLOCKING:
        pytest.skip("system call numbers of this machine are not known")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    try:
        watch = StallWatch(0.2)
        deadline = time.monotonic() + 10
        seen = None
        while seen is None and time.monotonic() < deadline:
            seen = watch.check([proc.pid])
            time.sleep(0.01)      # polling a state that has no event of its own
        assert seen == call
    finally:
        proc.kill()
        proc.wait()


def test_a_program_with_a_timeout_or_on_the_cpu_is_never_stalled():
    import sys
    import time

    from grader.harness.stall import BLOCKING, snapshot
    if not BLOCKING:
        pytest.skip("system call numbers of this machine are not known")
    select_calls = {n for n, name in BLOCKING.items() if name == "select()"}
    sleeper = subprocess.Popen([sys.executable, "-c",
                                "import select; select.select([], [], [], 30)"])
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])

    def in_select() -> bool:
        try:
            with open(f"/proc/{sleeper.pid}/syscall") as f:
                return int(f.read().split()[0]) in select_calls
        except (OSError, ValueError, IndexError):
            return False

    def spun() -> bool:
        with open(f"/proc/{spinner.pid}/schedstat") as f:
            return int(f.read().split()[0]) > 50_000_000
    try:
        deadline = time.monotonic() + 10
        while not (in_select() and spun()) and time.monotonic() < deadline:
            time.sleep(0.01)      # polling states that have no event of their own
        assert in_select() and spun()
        assert snapshot([sleeper.pid]) is None      # a timeout ends its wait by itself
        assert snapshot([spinner.pid]) is None      # on the CPU: it may get anywhere
    finally:
        for p in (sleeper, spinner):
            p.kill()
            p.wait()


@pytest.mark.parametrize("code, call", [
    ("import time; time.sleep(30)", "clock_nanosleep()"),
    ("import select; select.select([], [], [], 30)", "select() with a timeout"),
    ("import signal; signal.pause()", None),                   # waits for the user: not timed
])
def test_a_timed_wait_is_told_from_waiting_for_the_user(code, call):
    """Issue 17.10: after the close message a sleep is not a wait for ^C (grader.harness.stall)."""
    import sys
    import time

    from grader.harness.stall import BLOCKING, snapshot, timed_wait
    if not BLOCKING:
        pytest.skip("system call numbers of this machine are not known")
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 10
        while (timed_wait([proc.pid]) is None and snapshot([proc.pid]) is None
               and time.monotonic() < deadline):
            time.sleep(0.01)      # polling a state that has no event of its own
        assert timed_wait([proc.pid]) == call
        assert (snapshot([proc.pid]) is None) == (call is not None)
    finally:
        proc.kill()
        proc.wait()
