"""Run a command as inside Docker's default seccomp profile: no namespaces, no mounts.

    python3 tests/nonamespace.py COMMAND ARGS...

A seccomp filter makes unshare, setns, mount and the new mount API, pivot_root, and clone with
any namespace flag fail with EPERM (clone3 with ENOSYS, so that libc falls back to clone, as
Docker does), then the command is executed: the grader under it takes the paths of a machine
that refuses namespaces. `argv(...)` gives the prefix for tests.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys
from pathlib import Path

# (audit arch, {name: number}) for the machines CI runs on.
_ARCHES = {
    "x86_64": (0xC000003E, {"unshare": 272, "setns": 308, "mount": 165, "umount2": 166,
                            "pivot_root": 155, "clone": 56, "clone3": 435}),
    "aarch64": (0xC00000B7, {"unshare": 97, "setns": 268, "mount": 40, "umount2": 39,
                             "pivot_root": 41, "clone": 220, "clone3": 435}),
}
_NEW_MOUNT_API = (428, 429, 430, 431, 432, 442)       # open_tree .. fsmount, mount_setattr
_NAMESPACES = 0x7E020000    # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
_RET_ALLOW, _RET_ERRNO, _RET_KILL = 0x7FFF0000, 0x00050000, 0
_LD_W_ABS, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _filter() -> bytes:
    arch, nr = _ARCHES[platform.machine()]
    deny = [nr["unshare"], nr["setns"], nr["mount"], nr["umount2"], nr["pivot_root"],
            *_NEW_MOUNT_API]
    prog = [_insn(_LD_W_ABS, 0, 0, 4), _insn(_JEQ, 1, 0, arch), _insn(_RET, 0, 0, _RET_KILL),
            _insn(_LD_W_ABS, 0, 0, 0)]
    for n in deny:
        prog += [_insn(_JEQ, 0, 1, n), _insn(_RET, 0, 0, _RET_ERRNO | errno.EPERM)]
    prog += [_insn(_JEQ, 0, 1, nr["clone3"]), _insn(_RET, 0, 0, _RET_ERRNO | errno.ENOSYS),
             _insn(_JEQ, 0, 3, nr["clone"]), _insn(_LD_W_ABS, 0, 0, 16),
             _insn(_JSET, 0, 1, _NAMESPACES), _insn(_RET, 0, 0, _RET_ERRNO | errno.EPERM),
             _insn(_RET, 0, 0, _RET_ALLOW)]
    return b"".join(prog)


def supported() -> bool:
    return platform.machine() in _ARCHES


def argv(*command: str) -> list[str]:
    """The argv that runs `command` under the filter."""
    return [sys.executable, str(Path(__file__).resolve()), *command]


def main() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    code = _filter()
    buf = ctypes.create_string_buffer(code)
    prog = struct.pack("HxxxxxxP", len(code) // 8, ctypes.addressof(buf))
    prog_buf = ctypes.create_string_buffer(prog)
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    if (libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog_buf, 0, 0) != 0):
        sys.exit(f"nonamespace: seccomp refused: {os.strerror(ctypes.get_errno())}")
    os.execvp(sys.argv[1], sys.argv[1:])


if __name__ == "__main__":
    main()
