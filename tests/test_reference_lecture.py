"""Tests of the lecture's reference programs: reference/udp.py, tcp.py and minichat.py.

Every program runs as a real subprocess against a plain socket peer played here, and the
checks are the exact output and behaviour the grader relies on.

The UDP and TCP programs use the lecture's fixed port 10000, so they must run in a private
network namespace or parallel runs would collide. A pytest process cannot move itself into
one (it may have threads), so this module doubles as a small driver: the test starts
`unshare -rn ... python -m tests.test_reference_lecture SCENARIO`, the driver launches the
program and plays its peer inside the namespace, and prints a JSON summary for the test to
check. MiniChat takes its port as an argument, so its tests run here on free ports.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Callable, Iterator

import pytest

from grader.harness import ports
from reference import minichat, tcp, udp

REPO = Path(__file__).resolve().parent.parent
DEADLINE = 3.0  # seconds allowed for any one expected event
POLL_INTERVAL = 0.01  # between looks at /proc while waiting for a state change
LOOPBACK = "127.0.0.1"


class Program:
    """A reference program run as a subprocess, read with deadlines and always killed."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = b""

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            pipe.close()

    def type(self, data: bytes) -> None:
        """Send data to the program's stdin now, as a user typing a line would."""
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_until(self, expected: bytes, timeout: float = DEADLINE) -> bytes:
        """Collect stdout until it contains expected, ends, or the deadline passes."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while expected not in self.out:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            self.out += chunk
        return self.out

    def wait(self, timeout: float = DEADLINE) -> int | None:
        """The exit status, or None if still running at the deadline (outputs are small)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self) -> tuple[bytes, bytes]:
        """All of stdout and stderr; only once the program has exited."""
        self.out += self.proc.stdout.read()
        return self.out, self.proc.stderr.read()

    def state(self) -> str:
        """The kernel's scheduling state letter: "S" while blocked in select/poll."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]

    def open_fds(self) -> int:
        """How many descriptors the program holds, to see that it closes departed peers."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Check a state only visible in /proc until it holds, failing at the deadline."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL_INTERVAL)


def is_bound(proto: str, port: int) -> bool:
    """Whether a UDP socket is bound, or a TCP socket listening, on port in this namespace."""
    return ports.is_listening(port) if proto == "tcp" else ports.is_udp_bound(port)


def wait_bound(proto: str, port: int, prog: Program) -> None:
    """Wait until the program under test is ready for its peer, or has given up."""
    wait_for(lambda: is_bound(proto, port) or prog.proc.poll() is not None,
             f"{proto} port {port} to open")
    assert prog.proc.poll() is None, f"program exited early: {prog.output()}"


def recv_exact(sock: socket.socket, size: int, timeout: float = DEADLINE) -> bytes:
    """Receive size bytes (fewer only if the peer closes or the deadline passes)."""
    deadline = time.monotonic() + timeout
    data = b""
    while len(data) < size and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = sock.recv(size - len(data))
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def recv_to_end(sock: socket.socket, timeout: float = DEADLINE) -> bytes | None:
    """Everything until the peer closes; None if it has not closed by the deadline."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            return None
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    return None


# ---------------------------------------------------------------------------------------
# Driver side: scenarios for the fixed-port programs, run inside a private namespace.

def text(data: bytes) -> str:
    """Carry bytes through JSON unchanged (latin-1 maps each byte to one character)."""
    return data.decode("latin-1")


def finish(prog: Program, **facts: object) -> dict[str, object]:
    """The summary of one scenario: what the peer saw plus the program's exit and output."""
    status = prog.wait()
    out, err = prog.output() if status is not None else (prog.out, b"")
    return {"status": status, "stdout": text(out), "stderr": text(err), **facts}


def scenario_udp_server() -> dict[str, object]:
    """Greet the UDP server once and take its answer."""
    with Program("reference.udp", "server") as prog, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        wait_bound("udp", udp.PORT, prog)
        peer.bind((LOOPBACK, 0))
        peer.settimeout(DEADLINE)
        peer.sendto(udp.CLIENT_MSG, (LOOPBACK, udp.PORT))
        reply, source = peer.recvfrom(4096)
        return finish(prog, peer_port=peer.getsockname()[1], reply=text(reply),
                      reply_port=source[1])


def scenario_udp_client() -> dict[str, object]:
    """Answer the UDP client with unusual bytes, to see them printed verbatim."""
    answer = b"Not the usual \x00\xff answer\n"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as peer:
        peer.bind((LOOPBACK, udp.PORT))
        peer.settimeout(DEADLINE)
        with Program("reference.udp", "client") as prog:
            request, source = peer.recvfrom(4096)
            peer.sendto(answer, source)
            return finish(prog, request=text(request), answer=text(answer))


def scenario_udp_server_port_busy() -> dict[str, object]:
    """Hold port 10000 first, so the server's bind must fail."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("0.0.0.0", udp.PORT))
        with Program("reference.udp", "server") as prog:
            return finish(prog)


def scenario_tcp_server() -> dict[str, object]:
    """Connect to the TCP server, greet it and read its answer to the end."""
    with Program("reference.tcp", "server") as prog:
        wait_bound("tcp", tcp.PORT, prog)
        with socket.create_connection((LOOPBACK, tcp.PORT), timeout=DEADLINE) as peer:
            peer.sendall(tcp.CLIENT_MSG)
            reply = recv_to_end(peer)
            return finish(prog, peer_port=peer.getsockname()[1],
                          reply=None if reply is None else text(reply))


def scenario_tcp_server_silent_client() -> dict[str, object]:
    """Connect to the TCP server and hang up without a word."""
    with Program("reference.tcp", "server") as prog:
        wait_bound("tcp", tcp.PORT, prog)
        socket.create_connection((LOOPBACK, tcp.PORT), timeout=DEADLINE).close()
        return finish(prog)


def scenario_tcp_server_port_busy() -> dict[str, object]:
    """Listen on port 10000 first, so the server's bind must fail."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("0.0.0.0", tcp.PORT))
        squatter.listen()
        with Program("reference.tcp", "server") as prog:
            return finish(prog)


def tcp_client_against(answer: bytes | None) -> dict[str, object]:
    """Play the TCP server once: take the greeting, then answer, or hang up if answer is None."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, tcp.PORT))
        listener.listen()
        listener.settimeout(DEADLINE)
        with Program("reference.tcp", "client") as prog:
            conn, _ = listener.accept()
            with conn:
                request = recv_exact(conn, len(tcp.CLIENT_MSG))
                if answer is not None:
                    conn.sendall(answer)
            return finish(prog, request=text(request))


def scenario_tcp_client() -> dict[str, object]:
    """Answer the TCP client like the lecture's server."""
    return tcp_client_against(tcp.SERVER_MSG)


def scenario_tcp_client_unanswered() -> dict[str, object]:
    """Take the TCP client's greeting and hang up without answering."""
    return tcp_client_against(None)


def scenario_tcp_client_no_server() -> dict[str, object]:
    """Start the TCP client with nothing listening on port 10000."""
    with Program("reference.tcp", "client") as prog:
        return finish(prog)


def scenario_minichat_server_default_port() -> dict[str, object]:
    """Start the MiniChat server without a port and connect to 10000."""
    with Program("reference.minichat", "server") as prog:
        wait_bound("tcp", minichat.DEFAULT_PORT, prog)
        with socket.create_connection((LOOPBACK, minichat.DEFAULT_PORT), DEADLINE) as peer:
            announced = prog.read_until(b"\n")
            return {"announced": text(announced), "peer_port": peer.getsockname()[1]}


def scenario_minichat_client_default_port() -> dict[str, object]:
    """Listen on 10000 and start the MiniChat client without a port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, minichat.DEFAULT_PORT))
        listener.listen()
        listener.settimeout(DEADLINE)
        with Program("reference.minichat", "client") as prog:
            conn, _ = listener.accept()
            conn.close()
            return finish(prog)


SCENARIOS: dict[str, Callable[[], dict[str, object]]] = {
    name[len("scenario_"):].replace("_", "-"): func
    for name, func in list(globals().items()) if name.startswith("scenario_")
}


def drive(name: str) -> None:
    """Play one scenario and print its summary, or the failure, as one JSON object."""
    try:
        result = SCENARIOS[name]()
    except Exception:  # reported to the test, which shows it
        result = {"error": traceback.format_exc()}
    print(json.dumps(result))


def in_namespace(name: str) -> dict[str, object]:
    """Run a driver scenario in a fresh network namespace and return its summary."""
    script = 'ip link set lo up && exec "$0" -m tests.test_reference_lecture "$1"'
    proc = subprocess.Popen(["unshare", "-rn", "sh", "-c", script, sys.executable, name],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=6 * DEADLINE)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the program it started
        proc.communicate()
        raise
    assert proc.returncode == 0 and out, f"driver failed: {err.decode(errors='replace')}"
    result = json.loads(out)
    assert "error" not in result, result["error"]
    return result


@pytest.fixture(scope="session")
def netns() -> None:
    """Skip the fixed-port tests where private network namespaces cannot be made."""
    try:
        works = subprocess.run(["unshare", "-rn", "true"], capture_output=True,
                               timeout=DEADLINE).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        works = False
    if not works:
        pytest.skip("unshare -rn is not available")


needs_netns = pytest.mark.usefixtures("netns")


# ---------------------------------------------------------------------------------------
# Constants the grader imports.

def test_protocol_constants() -> None:
    assert (udp.PORT, udp.CLIENT_MSG, udp.SERVER_MSG) == (10000, b"Hello, Server\n",
                                                          b"Hello, Client\n")
    assert (tcp.PORT, tcp.CLIENT_MSG, tcp.SERVER_MSG) == (10000, b"Hello, TCP Server.\n",
                                                          b"Hello, TCP Client.\n")


@pytest.mark.parametrize("data, expected", [
    (b"bye", True), (b"bye\n", True), (b"byebye all\n", True),
    (b"goodbye\n", False), (b"Bye\n", False), (b"by", False), (b"", False), (b" bye", False),
])
def test_is_bye_is_a_prefix_test(data: bytes, expected: bool) -> None:
    assert minichat.is_bye(data) is expected


# ---------------------------------------------------------------------------------------
# UDP and TCP, on port 10000 inside private namespaces.

def assert_clean_failure(result: dict[str, object], message: str) -> None:
    """A checked error: non-zero exit, a one-line reason on stderr, no traceback."""
    assert result["status"] == 1
    assert message in result["stderr"]
    assert "Traceback" not in result["stderr"]


@needs_netns
def test_udp_server_reports_sender_and_answers() -> None:
    result = in_namespace("udp-server")
    port = result["peer_port"]
    assert result["stdout"] == f"Message from <127.0.0.1:{port}>: Hello, Server\n"
    assert result["reply"] == text(udp.SERVER_MSG)
    assert result["reply_port"] == udp.PORT
    assert result["status"] == 0


@needs_netns
def test_udp_client_greets_and_prints_answer_verbatim() -> None:
    result = in_namespace("udp-client")
    assert result["request"] == text(udp.CLIENT_MSG)
    assert result["stdout"] == result["answer"]
    assert result["status"] == 0


@needs_netns
def test_udp_server_reports_busy_port() -> None:
    assert_clean_failure(in_namespace("udp-server-port-busy"), "Address already in use")


@needs_netns
def test_tcp_server_reports_connection_and_answers() -> None:
    result = in_namespace("tcp-server")
    port = result["peer_port"]
    assert result["stdout"] == (f"New Connection:  127.0.0.1:{port}->127.0.0.1:10000\n"
                                + text(tcp.CLIENT_MSG))
    assert result["reply"] == text(tcp.SERVER_MSG)
    assert result["status"] == 0


@needs_netns
def test_tcp_server_reports_client_that_said_nothing() -> None:
    assert_clean_failure(in_namespace("tcp-server-silent-client"), "closed the connection")


@needs_netns
def test_tcp_server_reports_busy_port() -> None:
    assert_clean_failure(in_namespace("tcp-server-port-busy"), "Address already in use")


@needs_netns
def test_tcp_client_greets_and_prints_answer() -> None:
    result = in_namespace("tcp-client")
    assert result["request"] == text(tcp.CLIENT_MSG)
    assert result["stdout"] == text(tcp.SERVER_MSG)
    assert result["status"] == 0


@needs_netns
def test_tcp_client_reports_unanswered_greeting() -> None:
    result = in_namespace("tcp-client-unanswered")
    assert result["request"] == text(tcp.CLIENT_MSG)
    assert_clean_failure(result, "closed the connection")


@needs_netns
def test_tcp_client_reports_refused_connection() -> None:
    assert_clean_failure(in_namespace("tcp-client-no-server"), "Connection refused")


@needs_netns
def test_minichat_server_defaults_to_port_10000() -> None:
    result = in_namespace("minichat-server-default-port")
    assert result["announced"] == f"New connection from:  127.0.0.1:{result['peer_port']}\n"


@needs_netns
def test_minichat_client_defaults_to_port_10000() -> None:
    result = in_namespace("minichat-client-default-port")
    assert result["status"] == 0


# ---------------------------------------------------------------------------------------
# MiniChat server, on a free port, with both ways of waiting.

@pytest.fixture(params=["select", "poll"])
def io(request: pytest.FixtureRequest) -> str:
    """Each MiniChat test runs once per way of waiting the lecture shows."""
    return request.param


def free_port() -> int:
    """A port nobody is using right now, for a server that must bind it itself."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class ChatRoom:
    """A running MiniChat server and the plain sockets that joined it."""

    def __init__(self, server: Program, port: int) -> None:
        self.server, self.port = server, port
        self.members: list[socket.socket] = []

    def join(self) -> socket.socket:
        """Connect a new member and wait until the server has announced it."""
        sock = socket.create_connection((LOOPBACK, self.port), timeout=DEADLINE)
        self.members.append(sock)
        line = f"New connection from:  127.0.0.1:{sock.getsockname()[1]}\n".encode()
        assert line in self.server.read_until(line), self.server.out
        return sock


@pytest.fixture
def room(io: str) -> Iterator[ChatRoom]:
    """A MiniChat server on a free port, ready for members to join."""
    port = free_port()
    with Program("reference.minichat", "server", str(port), "--io", io) as server:
        wait_bound("tcp", port, server)
        chat = ChatRoom(server, port)
        try:
            yield chat
        finally:
            for sock in chat.members:
                sock.close()


def test_server_announces_each_connection(room: ChatRoom) -> None:
    ports = [room.join().getsockname()[1] for _ in range(2)]
    assert room.server.out == b"".join(
        f"New connection from:  127.0.0.1:{port}\n".encode() for port in ports)


def test_server_relays_to_everyone_but_the_sender(room: ChatRoom) -> None:
    a, b, c = room.join(), room.join(), room.join()
    first, second, third = b"first from a\n", b"second \x00 from b\n", b"third from c\n"
    a.sendall(first)
    assert recv_exact(b, len(first)) == first
    assert recv_exact(c, len(first)) == first
    b.sendall(second)  # a's first bytes back must be b's: its own message never came back
    assert recv_exact(a, len(second)) == second
    assert recv_exact(c, len(second)) == second
    c.sendall(third)
    assert recv_exact(b, len(third)) == third
    assert recv_exact(a, len(third)) == third


def test_server_forgets_a_member_who_leaves(room: ChatRoom) -> None:
    a, b, c = room.join(), room.join(), room.join()
    held = room.server.open_fds()
    c.close()
    wait_for(lambda: room.server.open_fds() == held - 1, "the server to close the leaver")
    wait_for(lambda: room.server.state() == "S", "the server to sleep in select/poll")
    a.sendall(b"still here?\n")
    assert recv_exact(b, 12) == b"still here?\n"
    d = room.join()
    b.sendall(b"yes\n")
    assert recv_exact(a, 4) == b"yes\n"
    assert recv_exact(d, 4) == b"yes\n"
    assert room.server.proc.poll() is None


def test_server_bye_is_relayed_then_ends_everything(room: ChatRoom) -> None:
    a, b = room.join(), room.join()
    a.sendall(b"bye for now\n")
    assert recv_to_end(b) == b"bye for now\n"
    assert recv_to_end(a) == b""
    assert room.server.wait() == 0


def test_server_bye_counts_only_at_the_start(room: ChatRoom) -> None:
    a, b = room.join(), room.join()
    a.sendall(b"goodbye\n")
    assert recv_exact(b, 8) == b"goodbye\n"
    b.sendall(b"not over\n")
    assert recv_exact(a, 9) == b"not over\n"
    assert room.server.proc.poll() is None


# ---------------------------------------------------------------------------------------
# MiniChat client, against a plain listening socket, with both ways of waiting.

class Chatter:
    """A running MiniChat client and the server-side socket it connected to."""

    def __init__(self, client: Program, conn: socket.socket) -> None:
        self.client, self.conn = client, conn


@pytest.fixture
def chatter(io: str) -> Iterator[Chatter]:
    """A MiniChat client already connected to a socket played by the test."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen()
        listener.settimeout(DEADLINE)
        port = listener.getsockname()[1]
        with Program("reference.minichat", "client", str(port), "--io", io) as client:
            conn, _ = listener.accept()
            with conn:
                yield Chatter(client, conn)


def test_client_relays_both_ways(chatter: Chatter) -> None:
    chatter.client.type(b"hello server\n")
    assert recv_exact(chatter.conn, 13) == b"hello server\n"
    incoming = b"hello \x00\xff client\n"
    chatter.conn.sendall(incoming)
    assert chatter.client.read_until(incoming) == incoming
    wait_for(lambda: chatter.client.state() == "S", "the client to sleep in select/poll")
    assert chatter.client.proc.poll() is None


def test_client_exits_after_sending_typed_bye(chatter: Chatter) -> None:
    chatter.client.type(b"bye\n")
    assert recv_to_end(chatter.conn) == b"bye\n"
    assert chatter.client.wait() == 0


def test_client_exits_on_bye_from_server(chatter: Chatter) -> None:
    chatter.conn.sendall(b"bye everyone\n")
    assert chatter.client.wait() == 0
    assert chatter.client.output() == (b"bye everyone\n", b"")


def test_client_exits_when_server_hangs_up(chatter: Chatter) -> None:
    chatter.conn.close()
    assert chatter.client.wait() == 0
    assert chatter.client.output() == (b"", b"")


def test_client_exits_at_end_of_input(chatter: Chatter) -> None:
    chatter.client.proc.stdin.close()
    assert recv_to_end(chatter.conn) == b""
    assert chatter.client.wait() == 0


def test_client_reports_refused_connection(io: str) -> None:
    with Program("reference.minichat", "client", str(free_port()), "--io", io) as client:
        assert client.wait() == 1
        _, err = client.output()
    assert b"Connection refused" in err and b"Traceback" not in err


if __name__ == "__main__":
    drive(sys.argv[1])
