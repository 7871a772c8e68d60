"""`grade doctor`: which protections a grading run gets on this machine, and why not.

Meant for a TA setting the grader up. Each line comes from the decisions a grading run makes
itself (sandbox, netns) or from trying the mechanism for real in a throw-away
form, so what doctor says is what grading will do.
"""
from __future__ import annotations

import os
import resource
import shutil
import socket
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..containment import buildcache, contain, netns, processes, sandbox
from ..harness import execs
from .. import settings as settings_mod
from ..settings import Settings


WIDTH = 100      # columns of the report


@dataclass
class Row:
    active: bool
    name: str
    detail: str


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:g} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return str(n)


def _containment() -> Row:
    if sandbox.become_subreaper():
        return Row(True, "process containment",
                   "each program gets its own session and process group; the grader is a child "
                   "subreaper, so double-forked, setsid'd children stay its descendants and are "
                   "killed when their case ends")
    return Row(False, "process containment",
               "cannot become a child subreaper (kernel older than 3.4?): detached children "
               "are found by their environment marker or cgroup only")


def _process_limit(s: Settings) -> Row:
    parent, why = sandbox.cgroup_home()
    if parent is not None:
        probe = os.path.join(parent, f"{sandbox.CGROUP_PREFIX}doctor-{os.getpid()}")
        try:
            os.mkdir(probe)
            try:
                with open(os.path.join(probe, "pids.max"), "w") as f:
                    f.write(str(s.max_processes))
            finally:
                os.rmdir(probe)
            return Row(True, "process limit",
                       f"a pids cgroup per case under {parent}: at most {s.max_processes} "
                       "processes, and every member is killed when the case ends")
        except OSError as e:
            why = f"cannot create a cgroup under {parent} ({e.strerror})"
    uid, _, _ = sandbox.sandbox_user(s)
    who = (f"the sandbox user to {s.max_processes} processes" if uid is not None else
           f"your user to {s.max_processes} processes more than it has")
    return Row(False, "process limit",
               f"no pids cgroup: {why}; RLIMIT_NPROC limits {who} instead, and children are "
               "still killed when their case ends")


def _as_root(s: Settings) -> str:
    """What a grading run as root would do about users (session.py, Grading._contain)."""
    if s.sandbox_uid_count <= 0:
        return f"every grading would run its programs as {s.sandbox_user}"
    return (f"each grading would run its programs as a uid of its own, leased from "
            f"{s.sandbox_uid_first}-{s.sandbox_uid_first + s.sandbox_uid_count - 1} and named "
            f"{s.sandbox_login} in their view (without a private view, only uids that "
            f"`grade prepare-image` named), and as {s.sandbox_user} when none is free")


def _user(s: Settings) -> Row:
    uid, gid, why = sandbox.sandbox_user(s)
    if uid is not None:
        return Row(True, "unprivileged user",
                   "student programs and builds never run as root: as the grading's own uid "
                   f"(below), else as {s.sandbox_user} (uid {uid}, gid {gid}), in scratch "
                   "directories that user owns")
    if os.geteuid() == 0:
        return Row(False, "unprivileged user",
                   f"{why}; grading refuses to run student programs as root")
    return Row(False, "unprivileged user",
               f"student programs run as you: {why}. They can read and signal whatever your "
               f"user can; grade as root (e.g. in a container): {_as_root(s)}")


def _network() -> Row:
    ok, why = netns.probe()
    if ok:
        return Row(True, "network isolation",
                   "a private network namespace per case with only loopback up: no other "
                   "address is reachable, and port 10000 never collides between runs")
    advice = "" if os.environ.get(netns.DISABLE) else (
        "; it needs network namespaces, and as a normal user also unprivileged user "
        "namespaces (sysctl kernel.unprivileged_userns_clone=1 or user.max_user_namespaces)")
    return Row(False, "network isolation", netns.without(why) + advice)


def _view() -> Row:
    ok, why = contain.probe()
    if ok:
        how = ("as root" if os.geteuid() == 0 else
               "in a user namespace of the launcher's own (as a normal user)")
        return Row(True, "private view",
                   f"every program and build ({how}) gets a root of its own holding only the "
                   "system trees (read-only), its run and fresh /tmp, "
                   "/var/tmp and /dev/shm (nothing left there outlives it), the run's files "
                   "read-only but its own directory, its own /etc/passwd and /etc/group "
                   "(getpwuid() and getlogin() name its user; ~pn-cs357 is our talk library), "
                   "and a private IPC namespace (System V objects die with it)")
    return Row(False, "private view",
               f"no mount or IPC namespace for programs ({why}): they share /tmp, /var/tmp, "
               "/dev/shm and System V IPC with the machine, files they leave there outlive "
               "the grading, getlogin() may fail, and ~pn-cs357 names nothing in a build, so "
               "the compiler is pointed at the talk library (CPATH) and a Makefile with a "
               "wrong -I builds here but not on the course machine (the build says so); as a "
               "normal user this needs unprivileged user namespaces")


def _name_resolution(s: Settings) -> Row:
    """Checks dial "localhost" and the peers' own name: a machine without /etc/hosts (or
    without localhost in it) would fail correct programs, unless the view supplies one."""
    try:
        found = {str(a[4][0]) for a in socket.getaddrinfo("localhost", None)}
    except OSError:
        found = set()
    loopback = sorted(a for a in found if a.startswith("127.") or a == "::1")
    viewed = contain.probe()[0]
    peers = f"the reference peers' address {s.peer_address} ({s.peer_host})"
    if loopback:
        return Row(True, "name resolution", f"localhost resolves to {', '.join(loopback)}" + (
            f"; programs' /etc/hosts also names {peers}" if viewed else ""))
    if viewed:
        return Row(True, "name resolution",
                   "localhost does not resolve on this machine (no /etc/hosts, or no line for "
                   "it), so programs' view carries its own /etc/hosts naming localhost "
                   f"(127.0.0.1 and ::1) and {peers}")
    return Row(False, "name resolution",
               "localhost does not resolve on this machine, and programs have no private view "
               "to carry a hosts file: a correct program that dials localhost fails; add "
               "`127.0.0.1 localhost` and `::1 localhost` to /etc/hosts")


def _grader_files() -> Row:
    kept, how = contain.grader_exposure(contain.probe()[0], os.geteuid())
    return Row(kept, "grader's files", how)


def _pid_namespace() -> Row:
    ok, why = contain.probe_pid_namespace()
    if ok:
        return Row(True, "PID namespace",
                   "each grading's programs share a PID namespace of their own: kill(-1) "
                   "reaches nothing outside it, and all of it dies with the grader")
    return Row(False, "PID namespace",
               f"no PID namespace ({why}): kill(-1) from a program reaches every process its "
               "user may signal")


def _own_users(s: Settings) -> Row:
    if os.geteuid() != 0:
        return Row(False, "a user per student",
                   "not root: every program runs as you, so students graded at once share a "
                   "user and could signal or trace each other's programs (as root, each grading "
                   "would lease a uid of its own: see unprivileged user)")
    lease, why = contain.lease_uid(s, buildcache.cache_root() / "uids")
    if lease is not None:
        lease.release()
        if contain.probe()[0]:
            return Row(True, "a user per student",
                       f"each grading runs its programs as a uid of its own from "
                       f"{s.sandbox_uid_first}-{s.sandbox_uid_first + s.sandbox_uid_count - 1} "
                       f"(named {s.sandbox_login} in their view): students graded in "
                       "parallel cannot signal, trace or read each other")
        why = "it needs the private view, which is off"
    return Row(False, "a user per student",
               f"{why}: every grading runs as {s.sandbox_user}, so students graded at once "
               "could signal or trace each other's programs")


def _execs(s: Settings) -> Row:
    seen, how = execs.probe()
    if seen:
        return Row(True, "programs executed",
                   f"every program a student program or its descendants execute is {how}, "
                   "recorded in the notes, and refused unless the manifest's allow_exec allows "
                   "it (the check then fails, naming it)")
    return Row(False, "programs executed",
               f"execs are {how}; every {s.exec_sample_interval:g} s the grader reads which "
               "program each process of the case runs, so one that runs for less may go "
               "unrecorded, and none is refused before it runs")


def _limits(s: Settings) -> Row:
    wanted: list[tuple[str, int, int, Callable[[int], str]]] = [
              ("CPU time", resource.RLIMIT_CPU, s.cpu_seconds, lambda v: f"{v} s"),
              ("address space", resource.RLIMIT_AS, s.address_space, _size),
              ("open files", resource.RLIMIT_NOFILE, s.open_files, str),
              ("file size", resource.RLIMIT_FSIZE, s.file_size, _size),
              ("core dumps", resource.RLIMIT_CORE, 0, _size)]
    parts, lowered = [], []
    for name, which, value, show in wanted:
        hard = resource.getrlimit(which)[1]
        if hard != resource.RLIM_INFINITY and hard < value:
            lowered.append(f"{name} {show(hard)} (this shell's hard limit)")
            value = hard
        parts.append(f"{name} {show(value)}")
    detail = ", ".join(parts) + "; no privileges gained through exec (no_new_privs)"
    if lowered:
        detail += "; lowered: " + ", ".join(lowered)
    return Row(True, "resource limits", detail)


def _watchdog() -> Row:
    if os.geteuid() != 0 and not contain.probe_pid_namespace()[0]:
        return Row(False, "grader killed",
                   "every program gets a parent-death signal (SIGKILL), but programs run as "
                   "your user outside a PID namespace: one can kill the watchdog or trace the "
                   "grader, and then what it started may outlive a killed grader")
    return Row(True, "grader killed",
               "every program gets a parent-death signal (SIGKILL), and a watchdog process "
               "kills what is left of a run, even if the grader itself is killed with SIGKILL")


def _output(s: Settings) -> Row:
    return Row(True, "output cap",
               f"the first {_size(s.output_cap)} of each stream is kept, the rest counted and "
               "dropped, and the report says \"output truncated\"")


def _disk(s: Settings) -> Row:
    def attempt() -> None:
        if os.geteuid() != 0:
            netns._enter()
        where = tempfile.mkdtemp(prefix="grader-doctor-")
        try:
            ok, why = contain.bounded_disk(Path(where), s.run_disk_bytes, s.run_disk_inodes)
            contain.release_disk(Path(where))
        finally:
            os.rmdir(where)
        if not ok:
            raise OSError(0, why)
    ok, why = processes.try_in_child(attempt)
    if ok:
        return Row(True, "disk cap",
                   f"each grading's build and case directories are a tmpfs of "
                   f"{_size(s.run_disk_bytes)} and {s.run_disk_inodes} files of its own")
    return Row(False, "disk cap",
               f"no mount namespace for the grader ({why}): a build or program can fill the "
               f"disk with files of up to {_size(s.file_size)} each")


def _launcher() -> Row:
    from ..containment import launcher
    if launcher.executable().startswith("/proc/"):
        return Row(True, "sealed launcher",
                   "the launcher is checked against the digest recorded at its build and run "
                   "from a sealed in-memory copy: replacing the cached file changes nothing a "
                   "running grader starts")
    if not launcher.children_may_open_our_fds():
        return Row(True, "sealed launcher",
                   "root without CAP_SYS_PTRACE: the cached launcher, in root's private cache "
                   "that no program's uid can write, is checked against its digest once per "
                   "grading and run from the cache (children could not open a sealed copy "
                   "here)")
    return Row(False, "sealed launcher",
               "no executable sealed in-memory file here: the cached launcher is checked "
               "against its digest once per grading and run from the cache")


def _scratch(s: Settings) -> Row:
    where = tempfile.gettempdir()
    if not os.access(where, os.W_OK | os.X_OK):
        return Row(False, "scratch directories", f"{where} is not writable: set TMPDIR")
    free = shutil.disk_usage(where).free
    return Row(True, "scratch directories",
               f"a fresh working directory per case under {where} ({_size(free)} free), "
               "removed when the case ends")


def rows(settings: Optional[Settings] = None) -> list[Row]:
    """Every protection, in the order the README's security model lists them."""
    s = settings or settings_mod.load()
    return [_containment(), _watchdog(), _process_limit(s), _limits(s), _output(s),
            _user(s), _own_users(s), _view(), _grader_files(), _launcher(), _pid_namespace(),
            _execs(s), _network(), _name_resolution(s), _scratch(s), _disk(s)]


def report(settings: Optional[Settings] = None) -> str:
    """The text `grade doctor` prints."""
    found = rows(settings)
    width = max(len(r.name) for r in found)
    indent = " " * (width + 8)
    lines = ["Protections for student programs on this machine "
             f"(running as {'root' if os.geteuid() == 0 else 'uid ' + str(os.geteuid())}):", ""]
    for r in found:
        lines.append(textwrap.fill(f"  {'ok' if r.active else 'NO'}  {r.name:<{width}}  {r.detail}",
                                   WIDTH, subsequent_indent=indent, break_on_hyphens=False))
    overrides = [v for v in (netns.DISABLE, sandbox.NO_CGROUP, contain.NO_VIEW, execs.SAMPLED)
                 if os.environ.get(v)]
    if overrides:
        lines += ["", "Turned off by the environment: " + ", ".join(overrides)]
    missing = sum(not r.active for r in found)
    lines += ["", "All protections are active." if not missing else textwrap.fill(
        f"{missing} protection(s) inactive: grading still works, within the limits above. "
        "See the README's Security model.", WIDTH)]
    return "\n".join(lines) + "\n"
