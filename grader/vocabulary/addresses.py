"""Checking an ADDR:PORT a program printed against the real one, with the usual diagnosis."""
from __future__ import annotations

from typing import Optional, Union

from ..harness.case import CheckFailure
from ..harness.transcript import show_text
from .wording import unmap


def swapped(port: int) -> int:
    """The number a port shows when printed without ntohs() on a little-endian machine."""
    return ((port & 0xFF) << 8) | (port >> 8)


def expect_address(addr: str, want_addr: str, port: Union[str, int], want_port: int,
                   what: str = "the peer", other_port: Optional[int] = None,
                   other_what: str = "the other end") -> None:
    """The substance of an ADDR:PORT: the port, and the address (an IPv4-mapped IPv6 address
    such as ::ffff:127.0.0.1 is that IPv4 address; how it is spelled is the wording's business).
    The hint is chosen by what went wrong; other_port is the port of the connection's other
    end, which a program may print by mistake."""
    port = int(port)
    if port != want_port:
        if other_port is not None and port == other_port:
            raise CheckFailure(f"printed port {port} for {what}; that is the port of "
                               f"{other_what}, and {what} has port {want_port}",
                               f"print the port of {what}: the ends of the connection are "
                               "mixed up (accept() fills in the client's address, "
                               "getsockname() on the accepted socket the server's)")
        if port == swapped(want_port):
            raise CheckFailure(f"printed port {port} for {what}; its real port is {want_port} "
                               "(the same number with its two bytes swapped)",
                               "the port in a sockaddr_in is in network byte order: print "
                               "ntohs(sin_port)")
        raise CheckFailure(f"printed port {port} for {what}; its real port is {want_port}",
                           f"print the port of {what} from the address accept(), recvfrom() "
                           "or getsockname() filled in, not a fixed number")
    if unmap(addr) == "0.0.0.0":
        raise CheckFailure(f"printed address 0.0.0.0 for {what}; it is {want_addr}",
                           "0.0.0.0 is INADDR_ANY, the address the listening socket was bound "
                           "to: call getsockname() on the socket accept() returned")
    if unmap(addr) != want_addr:
        raise CheckFailure(f"printed address \"{show_text(addr)}\" for {what}; it is {want_addr}",
                           "print the address with inet_ntop() from the sockaddr_in that "
                           "accept(), recvfrom() or getsockname() filled in")
