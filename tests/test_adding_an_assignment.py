"""docs/adding-an-assignment.md stays true: every manifest key the grader reads is documented,
and its worked example (a UDP echo server) builds, loads and grades as the guide says."""
from __future__ import annotations

import ast
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.harness import assignments
from grader.harness.ports import free_port
from support import ROOT, copy_of_the_grader, scaled
from verdict_table import entry_from, tomllib

GUIDE = ROOT / "docs" / "adding-an-assignment.md"


def _documented(table_heading: str) -> set[str]:
    """The keys in the first column of the table that follows a heading line of the guide."""
    text = GUIDE.read_text()
    start = text.index(table_heading)
    rows = []
    for line in text[start:].splitlines()[1:]:
        if rows and not line.startswith("|"):
            break
        if line.startswith("| `"):
            rows.append(line)
    return {re.match(r"\| `\[?([\w]+)\]?`", r).group(1) for r in rows}


def _keys_read_by_the_code() -> set[str]:
    """Every string key assignments.py reads from a manifest's tables: m["x"], m.get("x"),
    table.get("x") (m is the manifest, table the [interop] or [visibility] table)."""
    tree = ast.parse(Path(assignments.__file__).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in ("m", "table") and isinstance(node.slice, ast.Constant):
            found.add(node.slice.value)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "get" and isinstance(node.func.value, ast.Name) \
                and node.func.value.id in ("m", "table") and node.args \
                and isinstance(node.args[0], ast.Constant):
            found.add(node.args[0].value)
    return found


def test_every_manifest_key_the_code_reads_is_documented():
    top, interop = _documented("| key | needed"), _documented("`[interop]`:")
    read = _keys_read_by_the_code()
    assert read, "no manifest keys found in assignments.py: the scan is broken"
    assert read <= set(assignments.KEYS) | set(assignments.INTEROP_KEYS) | {"default"}, read
    assert set(assignments.KEYS) == top, set(assignments.KEYS) ^ top
    assert set(assignments.INTEROP_KEYS) == interop, set(assignments.INTEROP_KEYS) ^ interop
    assert '`default = "..."`' in GUIDE.read_text()        # [visibility]'s one fixed key
    for a in assignments.all_assignments():                 # the real manifests use no other
        with open(a.manifest, "rb") as f:
            assert set(tomllib.load(f)) <= top, a.manifest


@pytest.mark.parametrize("manifest, words", [
    ('title = "t"\nprogram = "p"\nfixed-port = 10000\n', "did you mean fixed_port?"),
    ('title = "t"\nprogam = "p"\n', "did you mean program?"),
    ('title = "t"\n', "program"),
    ('title = "t"\nprogram = "p"\nrole = "sever"\n', "server, client, both"),
    ('title = "t"\nprogram = "p"\nargs = "{port}"\n', "a list"),
    ('title = "t"\nprogram = "p"\n[points]\nx = "2"\n', "expected a number"),
    ('title = "t"\nprogram = "p"\n[interop]\nserver = []\nclient = []\nanswr = "y"\n',
     "did you mean answer?"),
])
def test_a_manifest_mistake_is_named(tmp_path, manifest, words):
    (tmp_path / "manifest.toml").write_text(manifest)
    with pytest.raises(assignments.ManifestError) as e:
        assignments.load(tmp_path)
    assert words in str(e.value) and str(tmp_path / "manifest.toml") in str(e.value)


# -- the worked example ------------------------------------------------------------------------

def _blocks() -> dict[str, str]:
    """The guide's code blocks that name their file on their first line, by that file."""
    out = {}
    for body in re.findall(r"```\w+\n(.*?)```", GUIDE.read_text(), re.DOTALL):
        first = body.splitlines()[0]
        m = re.fullmatch(r"(?:#|/\*) (\S+\.\w+)(?: \*/)?", first)
        if m:
            out[m.group(1)] = body
    return out


def _example(tmp_path: Path) -> Path:
    """The example's case folder, made from the guide, in a cases folder of its own."""
    blocks = _blocks()
    cases = tmp_path / "cases"
    folder = cases / "udp-echo"
    folder.mkdir(parents=True)
    for name in ("manifest.toml", "test_udp_echo.py"):
        (folder / name).write_text(blocks[f"cases/udp-echo/{name}"])
    for name in ("conftest.py", "pytest.ini"):
        shutil.copy(ROOT / "cases" / name, cases / name)
    return folder


def test_the_example_is_whole_and_consistent(tmp_path):
    blocks = _blocks()
    assert {"cases/udp-echo/manifest.toml", "cases/udp-echo/test_udp_echo.py",
            "reference/udp_echo.py", "tests/fixtures/lecture/udp_echo.c",
            "tests/verdicts/lecture.toml"} <= set(blocks)
    a = assignments.load(_example(tmp_path))
    tree = ast.parse(blocks["cases/udp-echo/test_udp_echo.py"])
    ids = [f.name[len("test_"):] for f in tree.body
           if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]
    assert ids == list(a.points) and f"checks, {a.max_score:g} points" in GUIDE.read_text()
    assert a.reference[-1] == "server" and a.args == ("{port}",)
    problems: list[str] = []
    entries = [entry_from(e, ids, problems)
               for e in tomllib.loads(blocks["tests/verdicts/lecture.toml"])["fixture"]]
    assert problems == []
    assert set(ids) == {cid for e in entries for cid in e.fails}   # every check a planted bug
    assert any(not e.fails for e in entries)                        # and a correct build


def _run_reference(tmp_path: Path, *args: str, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    path = tmp_path / "udp_echo.py"
    path.write_text(_blocks()["reference/udp_echo.py"])
    return subprocess.Popen([sys.executable, str(path), *args], stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _recv(sock: socket.socket, deadline: float):
    ready, _, _ = select.select([sock], [], [], max(deadline - time.monotonic(), 0))
    return sock.recvfrom(65536) if ready else None


def test_the_example_reference_plays_both_sides(tmp_path):
    """As the server it echoes and says whom; as the client (what the advice starts) it sends
    each typed line and prints the answer."""
    port = free_port()
    server = _run_reference(tmp_path, "server", str(port))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            deadline = time.monotonic() + scaled(10)
            got = None
            while got is None and time.monotonic() < deadline:     # until it has bound
                sock.sendto(b"ping\n", ("127.0.0.1", port))
                got = _recv(sock, min(deadline, time.monotonic() + scaled(0.2)))
            assert got is not None and got[0] == b"ping\n"
            line = server.stdout.readline().decode()
            assert line == f"Echoed 5 bytes to 127.0.0.1:{sock.getsockname()[1]}\n"
    finally:
        server.kill()
        server.communicate()

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        client = _run_reference(tmp_path, "client", str(sock.getsockname()[1]),
                                stdin=subprocess.PIPE)
        try:
            client.stdin.write(b"hello\n")
            client.stdin.close()
            got = _recv(sock, time.monotonic() + scaled(10))
            assert got is not None and got[0] == b"hello\n"
            sock.sendto(b"HELLO\n", got[1])
            client.wait(timeout=scaled(10))
            out = client.stdout.read()
        finally:
            if client.poll() is None:
                client.kill()
            client.wait()
            client.stdout.close()
            client.stderr.close()
    assert out == b"HELLO\n" and client.returncode == 0


def _tree(tmp_path: Path) -> Path:
    """A copy of the grader's source tree with the example added, as an instructor has it."""
    tree = copy_of_the_grader(tmp_path)
    for name, body in _blocks().items():
        if name.startswith(("cases/", "reference/", "tests/fixtures/")):
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            (tree / name).write_text(body)
    return tree


def _grade(tree: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(tree), NO_COLOR="1",
               PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    return subprocess.run([sys.executable, "-m", "grader", *args], cwd=tree, env=env,
                          capture_output=True, text=True, timeout=scaled(300))


def _build(tree: Path, entry) -> Path:
    out = tree / "builds" / entry.name
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["gcc", "-std=gnu99", "-Wall", "-Wextra", "-o", str(out),
                           *(str(tree / "tests" / "fixtures" / s) for s in entry.sources),
                           *(f"-D{d}" for d in entry.defines)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_the_example_grades_as_the_guide_says(tmp_path):
    """The guide's commands, in a tree with the example added: `grade list` shows its points,
    the reference passes everything, each build of the fixture gets its table's verdicts,
    and the advice on a failure is the one the guide quotes."""
    tree = _tree(tmp_path)
    ids = list(assignments.load(tree / "cases" / "udp-echo").points)
    listed = _grade(tree, "list", "udp-echo")
    assert listed.returncode == 0 and "UDP echo server, 6 points" in listed.stdout
    done = _grade(tree, "udp-echo", "--reference")
    assert done.returncode == 0 and "score 6/6" in done.stdout, done.stdout + done.stderr
    advice = " ".join(GUIDE.read_text().split("*reproduce by hand: ")[1].split("*")[0].split())
    for raw in tomllib.loads(_blocks()["tests/verdicts/lecture.toml"])["fixture"]:
        entry = entry_from(raw, ids)
        out = tmp_path / f"{entry.name.replace('/', '-')}.json"
        done = _grade(tree, "udp-echo", str(_build(tree, entry)), "--json", str(out))
        verdicts = {c["id"]: c["status"] for c in json.loads(out.read_text())["checks"]}
        assert set(verdicts) == set(ids), done.stdout[-3000:]
        wrong = {c: v for c, v in verdicts.items() if (v == "failed") != (c in entry.fails)}
        assert not wrong, (entry.name, wrong, done.stdout[-3000:])
        assert done.returncode == (1 if entry.fails else 0), done.stderr
        if "answers_each_sender" in entry.fails:
            assert advice.rstrip(".") in " ".join(done.stdout.split()), done.stdout


@pytest.mark.slow
def test_the_example_runs_under_plain_pytest(tmp_path):
    """`pytest cases/udp-echo --student PROGRAM`, as the guide says, in a cases folder of
    the example's own: the planted bug fails its check, the rest pass."""
    folder = _example(tmp_path)
    tree = _tree(tmp_path)
    ids = list(assignments.load(folder).points)
    raw = next(e for e in tomllib.loads(_blocks()["tests/verdicts/lecture.toml"])["fixture"]
               if e["name"] == "udp-echo/no-ntohs")
    entry = entry_from(raw, ids)
    report = tmp_path / "report.xml"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(folder), "-p", "grader.harness.plugin",
         "-c", str(folder.parent / "pytest.ini"), "--rootdir", str(folder.parent),
         "--import-mode=importlib", "-p", "no:cacheprovider", f"--junitxml={report}",
         "--student", str(_build(tree, entry))],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=scaled(300))
    verdicts = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        verdicts[case.get("name")[len("test_"):]] = "failed" if failed else "passed"
    assert verdicts == {c: "failed" if c in entry.fails else "passed" for c in ids}, \
        done.stdout[-3000:]
