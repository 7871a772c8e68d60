"""Run a command as inside a container with Docker's defaults: no namespaces, no mounts.

    python3 tests/nonamespace.py [--bind FILE=TARGET]... [--readonly-cgroup] [--keep-caps] \
        [--] COMMAND ARGS...

Docker's default profile, as Gradescope and PrairieLearn run it: a seccomp filter makes
unshare, setns, mount and the new mount API, pivot_root, the kernel keyring calls and clone
with any namespace flag fail with EPERM (clone3 with ENOSYS, so that libc falls back to clone,
as Docker does), and as root the capabilities are Docker's default set (no CAP_SYS_ADMIN,
CAP_SYS_PTRACE, CAP_NET_ADMIN, CAP_SYS_RESOURCE, CAP_AUDIT_CONTROL, ...). Before that, and
only if asked, a mount namespace of the helper's own shows what an image would have: each
--bind FILE on TARGET (an image's /etc/passwd made by `grade prepare-image`, say), and
/sys/fs/cgroup read-only as Docker mounts it. Then the command is executed: the grader under
it takes the paths of a machine that refuses namespaces. `argv(...)` gives the prefix.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
import sys
from pathlib import Path
from typing import Mapping, Optional

# (audit arch, {name: number}) for the machines CI runs on.
_ARCHES = {
    "x86_64": (0xC000003E, {"unshare": 272, "setns": 308, "mount": 165, "umount2": 166,
                            "pivot_root": 155, "clone": 56, "clone3": 435, "add_key": 248,
                            "request_key": 249, "keyctl": 250}),
    "aarch64": (0xC00000B7, {"unshare": 97, "setns": 268, "mount": 40, "umount2": 39,
                             "pivot_root": 41, "clone": 220, "clone3": 435, "add_key": 217,
                             "request_key": 218, "keyctl": 219}),
}
_NEW_MOUNT_API = (428, 429, 430, 431, 432, 442)       # open_tree .. fsmount, mount_setattr
_NAMESPACES = 0x7E020000    # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
_RET_ALLOW, _RET_ERRNO, _RET_KILL = 0x7FFF0000, 0x00050000, 0
_LD_W_ABS, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06
# Docker's default capabilities: chown, dac_override, fowner, fsetid, kill, setgid, setuid,
# setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap.
DOCKER_CAPS = (0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31)
CLONE_NEWNS, MS_BIND, MS_REC, MS_PRIVATE, MS_REMOUNT, MS_RDONLY = 0x20000, 4096, 16384, \
    1 << 18, 32, 1
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 24, 38, 22, 2


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _filter() -> bytes:
    arch, nr = _ARCHES[platform.machine()]
    deny = [nr["unshare"], nr["setns"], nr["mount"], nr["umount2"], nr["pivot_root"],
            nr["add_key"], nr["request_key"], nr["keyctl"], *_NEW_MOUNT_API]
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


def argv(*command: str, binds: Optional[Mapping[str, Path]] = None,
         readonly_cgroup: bool = False, keep_caps: bool = False) -> list[str]:
    """The argv that runs `command` under the filter (the helper's own Python isolated, so
    that no PYTHONPATH given to the command reaches it); binds: target -> file of the image."""
    options = [f"--bind={source}={target}" for target, source in (binds or {}).items()]
    options += ["--readonly-cgroup"] * readonly_cgroup + ["--keep-caps"] * keep_caps
    return [sys.executable, "-I", str(Path(__file__).resolve()), *options, "--", *command]


def _fail(libc: ctypes.CDLL, what: str) -> None:
    sys.exit(f"nonamespace: {what}: {os.strerror(ctypes.get_errno())}")


def _image_view(libc: ctypes.CDLL, binds: list[tuple[str, str]], readonly_cgroup: bool) -> None:
    """A mount namespace of the helper's own with the image's files (before the filter)."""
    if libc.unshare(CLONE_NEWNS) != 0 or libc.mount(None, b"/", None, MS_REC | MS_PRIVATE,
                                                    None) != 0:
        _fail(libc, "mount namespace")
    for source, target in binds:
        if libc.mount(source.encode(), target.encode(), None, MS_BIND, None) != 0:
            _fail(libc, f"bind {target}")
    if readonly_cgroup:
        with open("/proc/self/mounts") as f:
            points = [line.split()[1] for line in f if line.split()[1].startswith("/sys/fs/cgroup")]
        for point in points:
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC
            if libc.mount(None, point.encode(), None, flags, None) != 0:
                _fail(libc, f"read-only {point}")


def _docker_caps(libc: ctypes.CDLL) -> None:
    """Root keeps Docker's default capabilities only (bounding set, so for what it executes)."""
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        if cap not in DOCKER_CAPS and libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            _fail(libc, "dropping capabilities")
    keep = sum(1 << c for c in DOCKER_CAPS)
    header = struct.pack("Ii", 0x20080522, 0)            # _LINUX_CAPABILITY_VERSION_3
    data = struct.pack("IIIIII", keep & 0xFFFFFFFF, keep & 0xFFFFFFFF, 0,
                       keep >> 32, keep >> 32, 0)
    if libc.capset(ctypes.c_char_p(header), ctypes.c_char_p(data)) != 0:
        _fail(libc, "capset")


def main(args: list[str]) -> None:
    binds, readonly_cgroup, keep_caps = [], False, False
    while args and args[0].startswith("--"):
        option = args.pop(0)
        if option == "--":
            break
        if option.startswith("--bind="):
            source, _, target = option[len("--bind="):].rpartition("=")
            binds.append((source, target))
        elif option == "--readonly-cgroup":
            readonly_cgroup = True
        elif option == "--keep-caps":
            keep_caps = True
        else:
            sys.exit(f"nonamespace: unknown option {option}")
    if not args:
        sys.exit("nonamespace: no command")
    libc = ctypes.CDLL(None, use_errno=True)
    if binds or readonly_cgroup:
        _image_view(libc, binds, readonly_cgroup)
    if os.geteuid() == 0 and not keep_caps:
        _docker_caps(libc)
    code = _filter()
    buf = ctypes.create_string_buffer(code)
    prog = struct.pack("HxxxxxxP", len(code) // 8, ctypes.addressof(buf))
    prog_buf = ctypes.create_string_buffer(prog)
    if (libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            or libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog_buf, 0, 0) != 0):
        _fail(libc, "seccomp refused")
    os.execvp(args[0], args)


if __name__ == "__main__":
    main(sys.argv[1:])
