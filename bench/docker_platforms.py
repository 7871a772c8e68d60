"""The exported bundles graded in real Docker containers, compared with the full machine.

    python3 bench/docker_platforms.py [--platform gradescope|prairielearn|both] [--keep]

As root, on a Debian machine with network access to Debian's archive and PyPI: installs
Debian's docker.io and debootstrap if missing, starts dockerd if none runs (and stops it at
the end), makes a Debian bookworm base image with debootstrap and `docker import`
(grader-base:bookworm), then builds each platform's image the way the platform does and runs
one fresh container per submission with the platform's limits and Docker's default seccomp
profile and capabilities (no namespace or mount can be made inside):

- Gradescope: the exported zip in /autograder/source, its setup.sh run in a container that is
  then committed as the image; each submission copied to /autograder/submission and
  `run_autograder` run with `--memory 768m --cpus 0.5`; then, in one container of that
  image, figure 91's tcp-server (no SO_REUSEADDR) graded twice in a row and tcp-client.
- PrairieLearn: the exported Dockerfile's steps run the same way; each submission in
  /grade/student, run.sh run with `--network none --memory 2g --memory-swap 2g --cpus 0.9
  --pids-limit 1024 --ulimit core=0 --ipc private`.

The machine's CA bundle is mounted for the set-up only (pip trusts what the machine trusts);
it is not in the images. Each handin is also graded on this machine (`grade --json`, full
sandbox); the table says whether the verdicts of every check match. Not part of CI: CI must
not depend on Docker.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DOCKER = "/usr/bin/docker"          # Debian's docker.io client
BASE = "grader-base:bookworm"
BASE_ROOT = Path("/var/tmp/bookworm")
MIRROR = "http://deb.debian.org/debian"
CA = "/etc/ssl/certs/ca-certificates.crt"
DOCKERD_READY = 60.0                # seconds for a dockerd we started to answer
GRADESCOPE_LIMITS = ["--memory", "768m", "--cpus", "0.5"]
PRAIRIELEARN_LIMITS = ["--network", "none", "--memory", "2g", "--memory-swap", "2g",
                       "--cpus", "0.9", "--pids-limit", "1024", "--ulimit", "core=0",
                       "--ipc", "private"]
GETLOGIN_MAKEFILE = ("mytalk: mytalk.c\n\tgcc -Wall -g -I ~pn-cs357/Given/Talk/include -o "
                     "mytalk mytalk.c -L ~pn-cs357/Given/Talk/lib64 -ltalk -lncurses\n")


def sh(*cmd: str, check: bool = True, timeout: float = 1800, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), check=check, timeout=timeout, text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, **kw)


def docker(*args: str, check: bool = True, timeout: float = 1800) -> subprocess.CompletedProcess:
    return sh(DOCKER, *args, check=check, timeout=timeout)


# -- Docker and the base image -------------------------------------------------------------------

def ensure_docker() -> Optional[subprocess.Popen]:
    """A running dockerd; the one we started (to stop at the end), or None."""
    if not (os.path.exists(DOCKER) and shutil.which("debootstrap")):
        sh("apt-get", "update", "-qq")
        sh("apt-get", "install", "-y", "-qq", "docker.io", "debootstrap",
           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if docker("info", check=False, timeout=30).returncode == 0:
        return None
    log = open(Path(tempfile.gettempdir()) / "bench-dockerd.log", "w")
    daemon = subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + DOCKERD_READY
    while docker("info", check=False, timeout=30).returncode != 0:
        if time.monotonic() > deadline or daemon.poll() is not None:
            daemon.terminate()
            sys.exit(f"dockerd did not start: see {log.name}")
        time.sleep(0.5)
    return daemon


def ensure_base() -> None:
    if docker("image", "inspect", BASE, check=False).returncode == 0:
        return
    if not (BASE_ROOT / "usr" / "bin" / "python3").exists():
        sh("debootstrap", "--variant=minbase", "--include=ca-certificates,python3", "bookworm",
           str(BASE_ROOT), MIRROR, timeout=3600)
    tar = subprocess.Popen(["tar", "-C", str(BASE_ROOT), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run([DOCKER, "import", "-", BASE], stdin=tar.stdout, check=True,
                   capture_output=True)
    tar.wait()


def build_image(tag: str, files: Path, script: str) -> float:
    """Run `script` in a container of the base image with `files` at /tmp/bundle and the
    machine's CA bundle for pip, then commit it as `tag`; the set-up's seconds."""
    name = f"bench-setup-{os.getpid()}"
    started = time.monotonic()
    done = docker("run", "--name", name, "-v", f"{files}:/tmp/bundle:ro",
                  "-v", f"{CA}:/run/host-ca.crt:ro", "-e", "PIP_CERT=/run/host-ca.crt",
                  BASE, "bash", "-euo", "pipefail", "-c", script, check=False)
    took = time.monotonic() - started
    if done.returncode != 0:
        docker("rm", "-f", name, check=False)
        sys.exit(f"building {tag} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    docker("rmi", tag, check=False)        # the last run's image: not left dangling
    docker("commit", name, tag)
    docker("rm", name)
    return took


# -- handins -------------------------------------------------------------------------------------

def handins(work: Path) -> dict[str, Path]:
    out = {"good": ROOT / "examples" / "asgn5" / "good",
           "buggy": ROOT / "examples" / "asgn5" / "buggy"}
    broken = work / "broken"
    shutil.copytree(out["good"], broken)
    with open(broken / "chat.c", "a") as f:
        f.write("\nint broken(void) { return undefined_name }\n")
    out["broken"] = broken
    for name, source, makefile in (
            ("getlogin", FIXTURES / "students" / "mytalk_getlogin.c", GETLOGIN_MAKEFILE),
            ("tilde_prereq", FIXTURES / "asgn5" / "mytalk.c",
             (FIXTURES / "handins" / "tilde_prereq" / "Makefile").read_text())):
        d = work / name
        d.mkdir()
        shutil.copy(source, d / "mytalk.c")
        (d / "Makefile").write_text(makefile)
        out[name] = d
    return out


def on_machine(handin: Path, work: Path, assignment: str = "asgn5") -> dict[str, str]:
    """Verdicts by check title on this machine (the full sandbox), "Build" for the build."""
    out = work / f"machine-{assignment}-{handin.name}.json"
    subprocess.run([sys.executable, "-m", "grader", assignment, str(handin), "--json", str(out)],
                   cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT), NO_COLOR="1"),
                   capture_output=True, stdin=subprocess.DEVNULL, timeout=600)
    result = json.loads(out.read_text())
    if result["build"]["status"] == "failed":           # no check ran: the build is the verdict
        return {"Build": "failed"}
    return {c["title"]: c["status"] for c in result["checks"]}


# -- the platforms -------------------------------------------------------------------------------

def gradescope(work: Path, subs: dict[str, Path]) -> list[dict]:
    bundle = work / "gradescope"
    sh(sys.executable, "-m", "grader", "export", "gradescope", "asgn5", "--out",
       str(work / "gs.zip"), cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    with zipfile.ZipFile(work / "gs.zip") as z:
        z.extractall(bundle)
    setup = ("mkdir -p /autograder && cp -r /tmp/bundle /autograder/source && "
             "cd /autograder/source && bash ./setup.sh && "
             "cp /autograder/source/run_autograder /autograder/ && "
             "chmod 700 /autograder/run_autograder")
    took = build_image("socket-grader-bench:gradescope", bundle, setup)
    print(f"gradescope image built in {took:.0f} s")
    rows = []
    for name, handin in subs.items():
        results = work / f"gs-results-{name}"
        results.mkdir()
        started = time.monotonic()
        docker("run", "--rm", *GRADESCOPE_LIMITS, "-v", f"{handin}:/tmp/handin:ro",
               "-v", f"{results}:/autograder/results", "socket-grader-bench:gradescope",
               "bash", "-c", "cp -r /tmp/handin /autograder/submission && cd /autograder "
               "&& ./run_autograder", timeout=900)
        wall = time.monotonic() - started
        data = json.loads((results / "results.json").read_text())
        seen = {t["name"]: t["status"] for t in data["tests"]}
        if "Build" in seen:
            seen = {"Build": "failed"}
        rows.append(row("Gradescope", name, handin, work, wall, data["score"], seen))
    return rows


def fixed_port_twice(work: Path) -> list[dict]:
    """In one container of the Gradescope image: figure 91's tcp-server (no SO_REUSEADDR)
    graded twice in a row, then tcp-client, all on the fixed port 10000."""
    out = work / "twice"
    out.mkdir()
    script = ("gcc -std=gnu99 -DNO_REUSEADDR -o /tmp/tcp_server /src/tcp_server.c && "
              "gcc -std=gnu99 -o /tmp/tcp_client /src/tcp_client.c && cd /autograder && "
              "for run in 1 2; do venv/bin/grade tcp-server /tmp/tcp_server --json "
              "/out/server-$run.json; done; venv/bin/grade tcp-client /tmp/tcp_client --json "
              "/out/client.json; true")
    started = time.monotonic()
    docker("run", "--rm", *GRADESCOPE_LIMITS, "-v", f"{FIXTURES / 'lecture'}:/src:ro",
           "-v", f"{out}:/out", "socket-grader-bench:gradescope", "bash", "-c", script,
           timeout=900)
    wall = (time.monotonic() - started) / 3
    built = work / "lecture"
    built.mkdir()
    for name, flags in (("tcp_server", ["-DNO_REUSEADDR"]), ("tcp_client", [])):
        sh("gcc", "-std=gnu99", *flags, "-o", str(built / name),
           str(FIXTURES / "lecture" / f"{name}.c"))
    rows = []
    for label, assignment, program, result in (
            ("tcp-server #1", "tcp-server", "tcp_server", "server-1.json"),
            ("tcp-server #2", "tcp-server", "tcp_server", "server-2.json"),
            ("tcp-client", "tcp-client", "tcp_client", "client.json")):
        data = json.loads((out / result).read_text())
        seen = {c["title"]: c["status"] for c in data["checks"]}
        rows.append(row("Gradescope", label, built / program, work, wall, data["score"], seen,
                        assignment))
    return rows


def prairielearn(work: Path, subs: dict[str, Path]) -> list[dict]:
    export = work / "pl"
    sh(sys.executable, "-m", "grader", "export", "prairielearn", "asgn5", "--out", str(export),
       cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    files = export / "serverFilesCourse" / "socket_grader"
    steps = [line.strip().rstrip("\\").strip() for line in
             (files / "Dockerfile").read_text().split("RUN ", 2)[2].splitlines()]
    wheel = next(files.glob("*.whl")).name
    setup = ("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
             "--no-install-recommends " + " ".join(_apt_packages()) + f" && cp /tmp/bundle/{wheel}"
             " /tmp/ && " + " ".join(s for s in steps if s))
    took = build_image("socket-grader-bench:prairielearn", files, setup)
    print(f"prairielearn image built in {took:.0f} s")
    rows = []
    for name, handin in subs.items():
        grade = work / f"pl-{name}"
        shutil.copytree(export / "serverFilesCourse", grade / "serverFilesCourse")
        shutil.copytree(handin, grade / "student")
        (grade / "results").mkdir()
        started = time.monotonic()
        docker("run", "--rm", *PRAIRIELEARN_LIMITS, "-v", f"{grade}:/grade",
               "socket-grader-bench:prairielearn",
               "/grade/serverFilesCourse/socket_grader/run.sh", timeout=900)
        wall = time.monotonic() - started
        data = json.loads((grade / "results" / "results.json").read_text())
        seen = {t["name"]: ("passed" if t["points"] == t["max_points"] else "failed")
                for t in data["tests"]}
        if not data["gradable"]:
            seen = {"Build": "failed"}
        rows.append(row("PrairieLearn", name, handin, work, wall, data["points"], seen))
    return rows


def _apt_packages() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from grader.frontend.export import APT_PACKAGES
    return list(APT_PACKAGES)


def row(platform: str, name: str, handin: Path, work: Path, wall: float, score: float,
        seen: dict[str, str], assignment: str = "asgn5") -> dict:
    """One line of the table: the container's verdicts against this machine's, by title."""
    machine = {k: ("passed" if v == "passed" else "failed")
               for k, v in on_machine(handin, work, assignment).items()}
    seen = {k: ("passed" if v == "passed" else "failed") for k, v in seen.items()}
    differ = sorted(k for k in set(seen) | set(machine) if seen.get(k) != machine.get(k))
    return {"platform": platform, "handin": name, "score": score, "wall_s": round(wall, 1),
            "same": not differ, "differ": differ}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--platform", choices=("gradescope", "prairielearn", "both"), default="both")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: Docker and debootstrap need it")
    daemon = ensure_docker()
    work = Path(tempfile.mkdtemp(prefix="bench-docker-", dir="/var/tmp"))
    work.chmod(0o755)
    try:
        ensure_base()
        subs = handins(work)
        rows = []
        if args.platform in ("gradescope", "both"):
            rows += gradescope(work, subs)
            rows += fixed_port_twice(work)
        if args.platform in ("prairielearn", "both"):
            rows += prairielearn(work, subs)
        print(f"{'platform':<13} {'handin':<13} {'score':>6} {'wall s':>7}  same verdicts")
        for r in rows:
            same = "yes" if r["same"] else f"NO ({len(r['differ'])}: {', '.join(r['differ'][:3])})"
            print(f"{r['platform']:<13} {r['handin']:<13} {r['score']:>6g} "
                  f"{r['wall_s']:>7}  {same}")
        print(json.dumps(rows))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=60)


if __name__ == "__main__":
    main()
