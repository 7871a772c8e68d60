"""Private network namespaces: each case gets its own loopback and nothing else.

Inside one, a student program cannot reach any other address, and the lecture's fixed port
10000 never collides between cases or parallel runs. As root a network namespace is created
directly; otherwise the process first enters a user namespace that maps its own uid to itself
(so getpwuid() still names the real user and children keep no privileges after exec).
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import socket
import struct

from . import processes

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1

DISABLE = "GRADER_NO_NETNS"    # set to 1: run without namespaces (to test that path)
ISOLATED = "private network namespace per case (loopback only)"

_libc = ctypes.CDLL(None, use_errno=True)
_state: dict[str, object] = {}


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, _SIOCGIFFLAGS, req))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | _IFF_UP, b""))


def prepare() -> tuple[bool, str]:
    """Make per-case namespaces possible for this process; say why not when they are not.

    Must run while the process is still single-threaded (a user namespace requires it).
    The answer is remembered: calling again costs nothing.
    """
    if "ok" in _state:
        return _state["ok"], _state["why"]  # type: ignore[return-value]
    ok, why = True, ISOLATED
    try:
        if os.environ.get(DISABLE):
            raise OSError(0, f"disabled by {DISABLE}")
        _enter()
    except OSError as e:
        ok, why = False, without(e.strerror or str(e))
    _state.update(ok=ok, why=why)
    return ok, why


def without(reason: str) -> str:
    """The note a run without namespaces gives, once, at the top of its report."""
    return (f"no network isolation ({reason}): student programs can reach other hosts, "
            "and runs that use a fixed port take turns")


def _enter() -> None:
    if os.geteuid() != 0:
        uid, gid = os.getuid(), os.getgid()
        _unshare(CLONE_NEWUSER)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    _unshare(CLONE_NEWNET)
    _loopback_up()


def probe() -> tuple[bool, str]:
    """Whether prepare() would succeed here, tried in a throw-away child (for `grade doctor`)."""
    if os.environ.get(DISABLE):
        return False, f"disabled by {DISABLE}"
    ok, why = processes.try_in_child(_enter)
    return (True, ISOLATED) if ok else (False, why)


def enter_fresh() -> None:
    """Move this process into a new, empty network namespace with loopback up.

    Sockets opened before keep their old namespace; processes started after inherit the new one.
    """
    _unshare(CLONE_NEWNET)
    _loopback_up()
