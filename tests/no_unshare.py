"""Run a command that cannot make namespaces or mount, as inside Docker's default profile.

    python tests/no_unshare.py COMMAND ARGS...

A seccomp filter (no new privileges, inherited by everything the command starts) makes
unshare(), setns(), mount() and a clone() that asks for a new namespace fail with EPERM, and
clone3() with ENOSYS (so that libc falls back to clone(), whose flags the filter can read).
"""
from __future__ import annotations

import ctypes
import os
import struct
import sys

# Linux x86_64 system call numbers.
CLONE, UNSHARE, MOUNT, SETNS, CLONE3 = 56, 272, 165, 308, 435
NAMESPACES = 0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 \
    | 0x02000000                    # NEWNS, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWCGROUP
AUDIT_ARCH_X86_64 = 0xC000003E
ALLOW, ERRNO = 0x7FFF0000, 0x00050000
EPERM, ENOSYS = 1, 38
LD, JEQ, JSET, RET = 0x20, 0x15, 0x45, 0x06   # BPF_LD|W|ABS, JMP|JEQ|K, JMP|JSET|K, RET|K


def _filter() -> bytes:
    def op(code: int, jt: int, jf: int, k: int) -> bytes:
        return struct.pack("HBBI", code, jt, jf, k)
    prog = [op(LD, 0, 0, 4), op(JEQ, 1, 0, AUDIT_ARCH_X86_64), op(RET, 0, 0, ALLOW),
            op(LD, 0, 0, 0)]
    for nr in (UNSHARE, MOUNT, SETNS):
        prog += [op(JEQ, 0, 1, nr), op(RET, 0, 0, ERRNO | EPERM)]
    prog += [op(JEQ, 0, 1, CLONE3), op(RET, 0, 0, ERRNO | ENOSYS),
             op(JEQ, 0, 3, CLONE), op(LD, 0, 0, 16), op(JSET, 0, 1, NAMESPACES),
             op(RET, 0, 0, ERRNO | EPERM), op(RET, 0, 0, ALLOW)]
    return b"".join(prog)


def main(argv: list[str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    code = _filter()
    buf = ctypes.create_string_buffer(code)
    fprog = struct.pack("HxxxxxxQ", len(code) // 8, ctypes.addressof(buf))
    if libc.prctl(38, 1, 0, 0, 0) != 0:                          # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "no_new_privs")
    if libc.prctl(22, 2, ctypes.c_char_p(fprog), 0, 0) != 0:     # PR_SET_SECCOMP, FILTER
        raise OSError(ctypes.get_errno(), "seccomp")
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
