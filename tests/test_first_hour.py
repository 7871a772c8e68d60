"""A student's first hour with `grade` (issue 19, the student items): the talk library where
they build, a reference peer wherever `grade` works, localhost in the programs' view, one line
for a failed build, and plain words for a C file or a script the view cannot run.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from grader.frontend.report.gradescope import md_text
from support import run_grade
from test_cli import one_line_error

# Written the way a student in a hurry writes it: one rule, and a typo in main.
BROKEN_MAIN = "#include <stdio.h>\nint main(int argc, char *argv[]) {\n  printf(\"hi\\n\")\n}\n"
MAKEFILE_ALL = "all:\n\tgcc -o mytalk mytalk.c -ltalk -lncurses\n"


def _broken_handin(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / "mytalk.c").write_text(BROKEN_MAIN)
    (where / "Makefile").write_text(MAKEFILE_ALL)
    return where


# ---- a failed build is one line, in every report a student reads

def test_failed_build_is_one_line_in_the_terminal_report_and_one_gradescope_test(tmp_path):
    from grader.frontend.report import terminal
    from grader.harness.results import Run
    handin = _broken_handin(tmp_path / "handin")
    gs, js = tmp_path / "gs.json", tmp_path / "r.json"
    done = run_grade("asgn5", str(handin), "--gradescope", str(gs), "--json", str(js))
    assert done.returncode == 2, done.stderr
    assert (done.stdout + done.stderr).count("not run: the build failed") == 1, done.stdout
    run = Run.from_dict(json.loads(js.read_text()))
    assert len(run.checks) > 1                    # the model keeps one entry per check
    text = terminal.render(run, color=False, student=True).decode()
    assert text.count("not run: the build failed") == 1, text
    assert f"({len(run.checks)} checks, " in text
    data = json.loads(gs.read_text())
    assert data["score"] == 0
    assert [t["name"] for t in data["tests"]] == ["Build"]
    build = data["tests"][0]
    assert build["status"] == "failed" and build["score"] == 0
    assert build["max_score"] == run.max_score > 0
    assert md_text("not run: the build failed") in build["output"]      # Markdown
    assert "mytalk.c" in build["output"]                                 # in the fenced log


def test_failed_build_is_one_line_in_a_batchs_feedback(tmp_path):
    _broken_handin(tmp_path / "class" / "carol")
    out = tmp_path / "results"
    done = run_grade("asgn5", str(tmp_path / "class"), "--batch", "--out", str(out))
    assert done.returncode == 0, done.stderr
    feedback = (out / "carol" / "feedback.txt").read_text()
    assert feedback.count("not run: the build failed") == 1, feedback
    assert "build: failed" in feedback
    results = json.loads((out / "carol" / "results.json").read_text())
    assert len(results["tests"]) == 1 and results["score"] == 0


# ---- a target that is not a program

def test_c_source_as_target_says_to_give_the_directory(tmp_path):
    (tmp_path / "main.c").write_text(BROKEN_MAIN)
    (tmp_path / "Makefile").write_text(MAKEFILE_ALL)
    done = run_grade("asgn5", "main.c", cwd=tmp_path)
    one_line_error(done, "this is C source", "the directory with the Makefile",
                   "or the compiled program", "grade asgn5 .")
    assert "chmod" not in done.stderr
    (tmp_path / "main.c").chmod(0o755)            # unzipped from a Windows machine
    one_line_error(run_grade("asgn5", str(tmp_path / "main.c")), "this is C source")


def _script(path: Path, interpreter: str) -> Path:
    path.write_text(f"#!{interpreter}\nimport sys\nprint('usage: mytalk', file=sys.stderr)\n"
                    "sys.exit(1)\n")
    path.chmod(0o755)
    return path


@pytest.mark.slow
def test_a_script_the_view_cannot_run_is_explained(tmp_path):
    """A venv made in /tmp, and a wrapper that runs a file in /tmp: programs being graded
    get a fresh, empty /tmp, so each scores 0 with "not found"; grade says why."""
    from grader.containment import contain
    assert str(tmp_path).startswith("/tmp/")      # pytest's scratch: where a venv often is
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "python3").symlink_to(os.path.realpath(sys.executable))
    script = _script(tmp_path / "mytalk", str(venv / "python3"))
    js = tmp_path / "r.json"
    done = run_grade("asgn5", str(script), "-k", "usage_no_args", "--json", str(js))
    assert done.returncode in (0, 1), done.stderr
    notes = json.loads(js.read_text())["notes"]
    wrapper = tmp_path / "wrapper"
    wrapper.write_text(f'#!/bin/sh\nexec python3 {tmp_path}/mytalk.py "$@"\n')
    wrapper.chmod(0o755)
    wrapped = run_grade("asgn5", str(wrapper), "-k", "usage_no_args")
    if not contain.probe()[0]:                     # no view: /tmp is the machine's, it works
        assert "will not find" not in wrapped.stderr and not any("script" in n for n in notes)
        return
    assert f"interpreter {venv / 'python3'} will not be found" in done.stderr, done.stderr
    assert "fresh, empty /tmp" in done.stderr
    assert any("interpreter" in n and "fresh, empty /tmp" in n for n in notes), notes
    assert f"names {tmp_path}/mytalk.py, which it will not find" in wrapped.stderr, \
        wrapped.stderr
    missing = _script(tmp_path / "other", "/nonexistent/python3")
    assert "does not exist on this machine" in run_grade(
        "asgn5", str(missing), "-k", "usage_no_args").stderr


def test_a_program_that_cannot_start_earns_no_usage_point(tmp_path):
    """The launcher's own "exec ...: No such file or directory" and its exit 127 are no
    usage message of the student's: the usage check fails and says the program did not start."""
    missing = _script(tmp_path / "mytalk", "/nonexistent/python3")
    js = tmp_path / "r.json"
    done = run_grade("asgn5", str(missing), "-k", "usage_no_args", "--json", str(js))
    assert done.returncode == 1, done.stdout + done.stderr
    [usage] = json.loads(js.read_text())["checks"]
    assert usage["status"] == "failed", usage
    assert "could not be started" in usage["message"], usage["message"]


def test_a_script_with_a_system_interpreter_gets_no_such_note(tmp_path):
    script = _script(tmp_path / "mytalk", "/usr/bin/env python3")
    done = run_grade("asgn5", str(script), "-k", "usage_no_args")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "interpreter" not in done.stderr and "will not find" not in done.stderr


# ---- reproduce by hand: `grade peer`, and what the check did, from its own steps

def test_reproduce_keeps_half_lines_and_keys_in_the_order_they_were_typed():
    from grader.harness import assignments, reproduce
    from grader.harness.case import Step
    steps = [Step("mytalk", "start", argv=("/tmp/g/build/mytalk", "-N", "peerhost", "39999")),
             Step("reference", "peer"), Step("reference", "type", "zoe\x00"),
             Step("mytalk", "type", "first\n"), Step("reference", "type", "one\ntwo\n"),
             Step("mytalk", "type", "no newline here"), Step("mytalk", "eof"),
             Step("reference", "close"), Step("mytalk", "interrupt")]
    text = reproduce.describe(steps, assignments.find("asgn5"))
    assert text.endswith('; type "first" in mytalk; type "one", "two" in the reference; '
                         'type "no newline here" (no Enter), ^D in mytalk; type ^D in the '
                         'reference; type ^C in mytalk'), text
    assert "zoe" not in text and "peerhost" not in text and "python3 -m" not in text


@pytest.mark.slow
def test_reproduce_of_a_real_failure_names_grade_peer_and_the_half_line(build_c, tmp_path):
    """A client that drops a last line without a newline, graded for real: the recipe says
    what the check typed, the half line and the ^D, and starts the reference with grade peer."""
    program = build_c(["asgn5/mytalk.c"], ("BUG_DROPS_PARTIAL_CLIENT",), talk=True)
    js = tmp_path / "r.json"
    done = run_grade("asgn5", str(program), "-k", "client_partial_line_eof", "--json", str(js))
    assert done.returncode == 1, done.stdout + done.stderr
    (check,) = json.loads(js.read_text())["checks"]
    recipe = check["reproduce"]
    assert recipe.startswith("reproduce by hand: in one terminal `grade peer asgn5 server -N "
                             "-a 4000`, in another `./mytalk -N localhost 4000`"), recipe
    # ^D ends the half line, a second ^D at the start of a line is end of input
    assert recipe.endswith('; type "no newline here" (no Enter), ^D, ^D in mytalk'), recipe
    assert "grade peer asgn5 server -N -a 4000" in done.stdout


def test_grade_peer_starts_the_reference_wherever_grade_works(tmp_path):
    """From a directory of the student's, without the grader's PYTHONPATH: the reference
    mytalk calls our listener, sends its login name, and relays what is typed into it."""
    import socket
    import subprocess
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(30)
    port = listener.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([sys.executable, "-m", "grader", "peer", "asgn5", "client", "-N",
                             "localhost", str(port)], cwd=tmp_path, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        conn, _ = listener.accept()
        conn.settimeout(30)
        assert conn.recv(100).rstrip(b"\x00")           # its login name
        conn.sendall(b"ok")
        proc.stdin.write(b"hello from the reference\n")
        proc.stdin.flush()
        got = b""
        while b"\n" not in got:
            chunk = conn.recv(100)
            assert chunk, got
            got += chunk
        assert got == b"hello from the reference\n"
        conn.close()
    finally:
        proc.kill()
        proc.communicate(timeout=30)
        listener.close()


# ---- the talk library where the student builds

# A student's Makefile after `grade talk-lib ~/talk`, the way the printed lines say.
TALK_MAIN = """#include <talk.h>
int main(void) {
    start_windowing();
    stop_windowing();
    return has_hit_eof() == 0 ? 0 : 1;
}
"""


def test_talk_lib_writes_the_library_and_the_makefile_lines_build_with_it(tmp_path):
    import re
    import subprocess
    lib = tmp_path / "my talk"               # a space: the lines must still be usable
    done = run_grade("talk-lib", str(lib))
    assert done.returncode == 0, done.stderr
    assert (lib / "include" / "talk.h").is_file() and (lib / "lib64" / "libtalk.a").is_file()
    out = done.stdout
    assert f"-I'{lib / 'include'}'" in out and f"-L'{lib / 'lib64'}'" in out
    assert "-ltalk -lncurses" in out and "~pn-cs357" not in out
    (tmp_path / "mytalk.c").write_text(TALK_MAIN)
    gcc_line = re.search(r"on gcc's line: (.*)$", out, re.MULTILINE)
    assert gcc_line, out
    (tmp_path / "Makefile").write_text(f"all:\n\tgcc -o mytalk mytalk.c {gcc_line.group(1)}\n")
    built = subprocess.run(["make"], cwd=tmp_path, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    assert subprocess.run([str(tmp_path / "mytalk")], stdin=subprocess.DEVNULL).returncode == 0
    again = run_grade("talk-lib", str(lib))          # a second time: overwrites, same lines
    assert again.returncode == 0 and again.stdout == out


def test_talk_lib_refuses_a_file(tmp_path):
    (tmp_path / "talk").write_text("not a directory\n")
    one_line_error(run_grade("talk-lib", str(tmp_path / "talk")), "is a file")


# ---- localhost in the programs' view, and grade doctor

def test_the_view_carries_a_hosts_file_when_the_machine_has_none(tmp_path, monkeypatch):
    from grader.containment import contain
    monkeypatch.setattr(contain, "HOSTS", str(tmp_path / "no-such-hosts"))
    view = contain.View.write(tmp_path, os.getuid(), os.getgid(), "student",
                              ("peerhost", "127.0.0.2"))
    assert view.hosts and view.own_etc
    hosts = (view.root / "etc" / "hosts").read_text().splitlines()
    assert hosts[:2] == ["127.0.0.1\tlocalhost", "::1\tlocalhost"]
    assert "127.0.0.2\tpeerhost" in hosts
    passwd = view.root / "etc" / "passwd"          # the rest of /etc is the machine's
    assert passwd.is_symlink() and os.readlink(passwd) == f"..{contain.MACHINE_ETC}/passwd"
    flags = view.flags()
    assert flags.index(f"/etc={contain.MACHINE_ETC}") < flags.index(f"{view.root / 'etc'}=/etc") \
        < flags.index(f"{view.root / 'passwd'}=/etc/passwd")


def test_the_view_adds_localhost_to_a_machine_hosts_file_without_it(tmp_path, monkeypatch):
    from grader.containment import contain
    machine = tmp_path / "hosts"
    machine.write_text("# localhost is not named here\n10.0.0.5\tfileserver\n")
    monkeypatch.setattr(contain, "HOSTS", str(machine))
    view = contain.View.write(tmp_path, os.getuid(), os.getgid(), "student")
    assert view.hosts and not view.own_etc
    assert (view.root / "hosts").read_text().splitlines() == [
        "127.0.0.1\tlocalhost", "::1\tlocalhost", "# localhost is not named here",
        "10.0.0.5\tfileserver"]
    machine.write_text("127.0.0.1\tlocalhost\n")       # right as it is: not copied
    other = contain.View.write(tmp_path, os.getuid(), os.getgid(), "student", directory="v2")
    assert not other.hosts and not (other.root / "hosts").exists()


def _can_hide_hosts() -> bool:
    import shutil
    import subprocess
    return os.geteuid() == 0 and shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True).returncode == 0


# /etc copied to a tmpfs without its hosts file, bound over /etc in a mount namespace of the
# test's own: the machine's /etc is never touched.
NO_HOSTS = ('d=$(mktemp -d) && mount -t tmpfs tmpfs "$d" && cp -a /etc "$d/etc" && '
            'rm -f "$d/etc/hosts" && mount --bind "$d/etc" /etc && exec "$@"')


def _without_hosts(*args: str):
    import subprocess
    from support import ROOT
    env = dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1")
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", NO_HOSTS,
                           "sh", sys.executable, "-m", "grader", *args], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.skipif(not _can_hide_hosts(), reason="needs root and mount namespaces")
def test_without_etc_hosts_a_correct_mytalk_passes_and_doctor_says_why(build_c, tmp_path):
    from grader.containment import contain
    if not contain.probe()[0]:
        pytest.skip("no private view here")
    program = build_c(["asgn5/mytalk.c"], talk=True)
    js = tmp_path / "r.json"
    done = _without_hosts("asgn5", str(program), "-k", "together or client_chat_both_ways",
                          "--json", str(js))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(js.read_text())
    assert result["score"] == result["max_score"] > 0
    doctor = _without_hosts("doctor")
    assert doctor.returncode == 0, doctor.stderr
    row = " ".join(doctor.stdout[doctor.stdout.index("name resolution"):].split())
    assert row.startswith("name resolution localhost does not resolve on this machine"), row
    assert "carries its own /etc/hosts" in row


def test_doctor_says_when_nothing_resolves_localhost(monkeypatch):
    import socket
    from grader.containment import contain
    from grader.frontend import doctor
    from grader.settings import Settings

    def no_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", no_name)
    monkeypatch.setattr(contain, "probe", lambda: (False, "disabled"))
    row = doctor._name_resolution(Settings())
    assert not row.active and "`127.0.0.1 localhost`" in row.detail
    monkeypatch.setattr(contain, "probe", lambda: (True, ""))
    row = doctor._name_resolution(Settings())
    assert row.active and "carries its own /etc/hosts" in row.detail


def test_grade_peer_refuses_what_it_cannot_start():
    one_line_error(run_grade("peer", "asgn5"), "give the role, server or client")
    one_line_error(run_grade("peer", "asgn5", "server", "localhost", "4000"),
                   "a mytalk server takes", "grade peer asgn5 server -N -a 4000")
    one_line_error(run_grade("peer", "asgn5", "client", "-N", "4000"),
                   "a mytalk client takes", "HOSTNAME PORT")
    one_line_error(run_grade("peer", "asgn55", "server", "4000"), "unknown assignment")
    assert "grade peer asgn5 server -N -a 4000" in run_grade("peer", "--help").stdout
