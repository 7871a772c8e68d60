"""What the lecture's two "hello" programs (UDP and TCP) share: output and the command line."""
from __future__ import annotations

import sys
from typing import Callable, Optional


def write_stdout(data: bytes) -> None:
    """Copy bytes to stdout untouched, as write(2) would, so the peer's text shows verbatim."""
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def run_role(program: str, server: Callable[[], None], client: Callable[[], None],
             argv: Optional[list[str]] = None) -> int:
    """Run `server` or `client` as argv says; a failed socket call becomes one line and exit 1."""
    args = sys.argv[1:] if argv is None else argv
    if args not in (["server"], ["client"]):
        print(f"usage: python -m reference.{program} server|client", file=sys.stderr)
        return 2
    role = args[0]
    try:
        (server if role == "server" else client)()
    except OSError as err:
        print(f"{program} {role}: {err.strerror or err}", file=sys.stderr)
        return 1
    return 0
