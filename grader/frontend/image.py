"""`grade prepare-image`: what a container image needs where no private view can be made.

Docker's default seccomp profile (Gradescope, PrairieLearn) refuses mount namespaces, so
programs cannot be shown our own /etc/passwd: a Makefile naming ~pn-cs357/Given/Talk would
not build, and a leased uid would have no name (getlogin() and getpwuid() fail). Run once as
root while the image is built (the bundles' setup.sh and image do), this writes into the
image itself: the course account with our talk library in its home, and the name
`sandbox_login` for every uid of the lease range. Idempotent: a second run changes nothing
that is already right.
"""
from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from ..containment import contain
from ..harness import talklib
from ..settings import Settings
from ..harness.targets import BadInput

COURSE_HOME = Path("/home") / contain.COURSE_ACCOUNT
MARK = "socket-grader"          # in the comment field of every line we add


def prepare(settings: Settings, talk_lib: Optional[Path] = None, etc: Path = Path("/etc"),
            home: Path = COURSE_HOME) -> list[str]:
    """Add the course account, its talk library and the uid names; what was done, line by line."""
    if os.geteuid() != 0:
        raise BadInput("grade prepare-image changes /etc/passwd: run it as root (where the "
                       "image is built)")
    done: list[str] = []
    passwd, group = _lines(etc / "passwd"), _lines(etc / "group")
    accounts = {_field(line, 0): line for line in passwd}
    if contain.COURSE_ACCOUNT in accounts:
        home = Path(_field(accounts[contain.COURSE_ACCOUNT], 5))
    else:
        ident = contain._free_id(passwd + group)
        passwd.append(f"{contain.COURSE_ACCOUNT}:x:{ident}:{ident}:course account ({MARK} talk "
                      f"library):{home}:/usr/sbin/nologin")
        if not any(_field(line, 0) == contain.COURSE_ACCOUNT for line in group):
            group.append(f"{contain.COURSE_ACCOUNT}:x:{ident}:")
        done.append(f"added the course account {contain.COURSE_ACCOUNT} (uid {ident}, home {home})")
    taken = {_field(line, 2) for line in passwd}
    first, count = settings.sandbox_uid_first, settings.sandbox_uid_count
    added = [uid for uid in range(first, first + count) if str(uid) not in taken]
    passwd += [f"{settings.sandbox_login}:x:{uid}:{uid}:student program ({MARK}):/tmp:"
               "/usr/sbin/nologin" for uid in added]
    gids = {_field(line, 2) for line in group}
    group += [f"{settings.sandbox_login}:x:{uid}:" for uid in range(first, first + count)
              if str(uid) not in gids]
    if added:
        done.append(f"named {len(added)} uids of {first}-{first + count - 1} "
                    f"{settings.sandbox_login} (one is leased per grading)")
    _write(etc / "passwd", passwd)
    _write(etc / "group", group)
    talk = home / "Given" / "Talk"
    fresh = Path(tempfile.mkdtemp(prefix=".talk-", dir=_made(home / "Given")))
    try:
        talklib.install(talk_lib or talklib.ensure(), fresh / "Talk")
        if not talk.is_dir() or _tree(talk) != _tree(fresh / "Talk"):
            if talk.exists():
                shutil.rmtree(talk)
            os.replace(fresh / "Talk", talk)
            done.append(f"installed the talk library in {talk}")
    except talklib.TalkLibraryError as e:
        raise BadInput(str(e))
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return done or ["nothing to do: the image is prepared"]


def _made(path: Path) -> Path:
    path.mkdir(mode=0o755, parents=True, exist_ok=True)
    for p in (path, path.parent):
        p.chmod(0o755)
    return path


def _tree(root: Path) -> dict[str, bytes]:
    out = {}
    for here, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(here) / name
            rel = str(path.relative_to(root))
            out[rel] = (os.readlink(path).encode() if path.is_symlink() else
                        path.read_bytes() if path.is_file() else b"/")
    return out


def _lines(path: Path) -> list[str]:
    return contain._read(str(path))


def _field(line: str, n: int) -> str:
    return contain._field(line, n)


def _write(path: Path, lines: list[str]) -> None:
    """Replaced in one step, mode 0644, so that no reader ever sees half a file; a file that
    is a mount point (bound into the image's build) cannot be replaced, and is rewritten."""
    text = "\n".join(lines) + "\n"
    try:
        if path.read_text(encoding="utf-8", errors="surrogateescape") == text:
            return
    except OSError:
        pass
    tmp = path.with_name(f".{path.name}.{MARK}")
    tmp.write_text(text, encoding="utf-8", errors="surrogateescape")
    tmp.chmod(0o644)
    try:
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink()
        if e.errno != errno.EBUSY:
            raise
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
