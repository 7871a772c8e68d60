"""The lecture checks on spellings and orders the lecture allows (issue 9, points 4 and 8).

Each program here is a small Python stand-in for what real students write; the C fixtures of
the verdict table cover the planted bugs.
"""
from __future__ import annotations

import sys
import textwrap

import pytest

TCP_SERVER_LATE_ANNOUNCEMENT = """
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 10000)); s.listen(5)
c, peer = s.accept()
data = c.recv(1000)                              # the greeting first...
local = c.getsockname()
print(f"New Connection:  {peer[0]}:{peer[1]}->{local[0]}:{local[1]}", flush=True)   # ...then this
print(data.decode(), end="", flush=True)
c.sendall(b"Hello, TCP Client.\\n"); c.close(); s.close()
"""

TCP_SERVER_IPV6 = """
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 10000)); s.listen(5)
c, peer = s.accept()
local = c.getsockname()
print(f"new connection: {peer[0]}:{peer[1]} -> {local[0]}:{local[1]}", flush=True)
data = c.recv(1000)
print(data.decode(), end="", flush=True)
c.sendall(b"Hello, TCP Client.\\n"); c.close(); s.close()
"""

UDP_CLIENT_LABELLED = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"Hello, Server\\n", ("127.0.0.1", 10000))
data, _ = s.recvfrom(1000)
print("Reply: " + data.decode().strip(), end="", flush=True)     # a label, and no newline
"""


def program(tmp_path, source: str) -> str:
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(source))
    return f"{sys.executable} {path}"


def warnings(g, check: str) -> list:
    return next(c["warnings"] for c in g.result["checks"] if c["id"] == check)


def test_tcp_server_may_announce_after_its_first_recv(tmp_path, grade):
    g = grade("tcp-server", program(tmp_path, TCP_SERVER_LATE_ANNOUNCEMENT))
    assert g.result is not None, g.stderr
    assert g.failed == set(), g.stdout
    assert warnings(g, "announces_connection") == []


@pytest.mark.slow
def test_tcp_server_ipv4_mapped_addresses_and_spacing_are_warnings(tmp_path, grade):
    g = grade("tcp-server", program(tmp_path, TCP_SERVER_IPV6))
    assert g.result is not None, g.stderr
    assert g.failed == set(), g.stdout
    (warning,) = warnings(g, "announces_connection")
    assert "::ffff:127.0.0.1" in warning and "New Connection:  127.0.0.1:" in warning
    strict = grade("tcp-server", program(tmp_path, TCP_SERVER_IPV6), "--strict")
    assert strict.failed == {"announces_connection"}


def test_udp_client_may_label_its_reply_and_skip_the_newline(tmp_path, grade):
    g = grade("udp-client", program(tmp_path, UDP_CLIENT_LABELLED))
    assert g.result is not None, g.stderr
    assert g.failed == set(), g.stdout
    assert warnings(g, "prints_reply") == []


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ["tcp-server", "udp-client"])
def test_failure_messages_hold_no_regular_expressions(tmp_path, grade, assignment):
    silent = program(tmp_path, "import time, sys\nsys.exit(0)\n")
    g = grade(assignment, silent)
    assert g.result is not None, g.stderr
    for c in g.result["checks"]:
        text = c["message"] + c["hint"]
        for syntax in ("\\d", "\\s", "(?P<", "[^", "/Hello", "Traceback", "\\udc"):
            assert syntax not in text, (c["id"], text)


MINICHAT_SERVER_SIGPIPE = """
import select, signal, socket, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)      # as in C: a send to a departed client kills
listener = socket.socket(); listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("0.0.0.0", int(sys.argv[1]))); listener.listen(100)
clients, watching = [], []
while True:
    ready, _, _ = select.select([listener] + watching, [], [])
    for s in ready:
        if s is listener:
            c, a = listener.accept()
            print(f"New connection from:  {a[0]}:{a[1]}", flush=True)
            clients.append(c); watching.append(c)
            continue
        data = s.recv(1024)
        if not data:
            watching.remove(s)          # the bug: still in clients, never closed
            continue
        for other in clients:
            if other is not s:
                other.send(data)
        if data.startswith(b"bye"):
            sys.exit(0)
"""


@pytest.mark.slow
def test_minichat_server_killed_by_sigpipe_fails_client_leaves_only(tmp_path, grade):
    g = grade("minichat-server", program(tmp_path, MINICHAT_SERVER_SIGPIPE))
    assert g.result is not None, g.stderr
    assert g.failed == {"client_leaves", "closes_descriptor"}, g.stdout
    leaves = next(c for c in g.result["checks"] if c["id"] == "client_leaves")
    assert "SIGPIPE" in leaves["message"]
    assert "MSG_NOSIGNAL" in leaves["hint"] and "SIGPIPE" in leaves["hint"]
