"""Checking an ADDR:PORT a program printed against the real one, with the usual diagnosis."""
from __future__ import annotations

from typing import Union

from .case import CheckFailure


def swapped(port: int) -> int:
    """The number a port shows when printed without ntohs() on a little-endian machine."""
    return ((port & 0xFF) << 8) | (port >> 8)


def expect_address(addr: str, want_addr: str, port: Union[str, int], want_port: int,
                   what: str = "the peer") -> None:
    port = int(port)
    if port != want_port:
        why = (" — the bytes are swapped: convert with ntohs()" if port == swapped(want_port)
               else "")
        raise CheckFailure(f"printed port {port} for {what}; its real port is {want_port}{why}")
    if addr != want_addr:
        raise CheckFailure(f"printed address {addr!r} for {what}; it is {want_addr}")
