"""Inside a container with a memory limit (Gradescope's --memory 768m): a program's address
space stays below the container's memory, and a SIGKILL from the kernel's OOM killer says so
(issue 18) instead of looking like one of ours."""
from __future__ import annotations

import resource
import signal

import pytest

from grader.containment import sandbox
from grader.harness.program import exit_status
from grader.settings import Settings


@pytest.mark.parametrize("text, expected", [
    ("805306368\n", 805306368),                  # cgroup v2 memory.max: Docker's --memory 768m
    ("max\n", None),                             # v2: no limit
    ("9223372036854771712\n", None),             # v1: "no limit", page-rounded
    ("", None),
])
def test_the_containers_memory_is_read_from_its_cgroup(tmp_path, text, expected):
    limit = tmp_path / "memory.max"
    limit.write_text(text)
    assert sandbox.container_memory((str(limit),)) == expected


def test_no_cgroup_file_is_no_limit(tmp_path):
    assert sandbox.container_memory((str(tmp_path / "none"),)) is None
    assert sandbox.oom_kills((str(tmp_path / "none"),)) is None


def test_oom_kills_are_read_from_v2_and_v1_files(tmp_path):
    v2 = tmp_path / "memory.events"
    v2.write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\n")
    v1 = tmp_path / "memory.oom_control"
    v1.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 5\n")
    assert sandbox.oom_kills((str(v2),)) == 2
    assert sandbox.oom_kills((str(v1),)) == 5


def _address_space(policy: sandbox.Policy) -> int:
    return dict(policy.limits(None, drop=False))[resource.RLIMIT_AS]


def test_a_programs_address_space_stays_below_the_containers_memory(tmp_path, monkeypatch):
    settings = Settings()
    limit = tmp_path / "memory.max"
    monkeypatch.setattr(sandbox, "MEMORY_LIMIT_FILES", (str(limit),))
    policy = sandbox.Policy.for_this_machine(settings)
    limit.write_text("max\n")
    assert _address_space(policy) == settings.address_space
    limit.write_text(f"{768 << 20}\n")
    assert _address_space(policy) == 768 << 20 < settings.address_space
    limit.write_text(f"{4 << 30}\n")                 # a roomy container: our own limit holds
    assert _address_space(policy) == settings.address_space


def test_a_sigkill_from_the_oom_killer_says_so(tmp_path, monkeypatch):
    events = tmp_path / "memory.events"
    monkeypatch.setattr(sandbox, "OOM_FILES", (str(events),))
    events.write_text("oom_kill 0\n")
    before = sandbox.oom_kills()
    assert str(exit_status(-signal.SIGKILL, before)) == "killed by SIGKILL"    # ours
    events.write_text("oom_kill 1\n")                # the kernel killed one meanwhile
    oom = exit_status(-signal.SIGKILL, before)
    assert oom.out_of_memory and "ran out of memory" in str(oom)
    assert not exit_status(-signal.SIGTERM, before).out_of_memory
    assert str(exit_status(3, before)) == "exit status 3"
    assert not exit_status(-signal.SIGKILL, None).out_of_memory    # no count: nothing said
