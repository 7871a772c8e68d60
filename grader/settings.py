"""Every timing constant and limit of the grader, in one place.

Waits in the harness are deadlines for events, never sleeps: a deadline only elapses in full
when the program under test is wrong. The few waits that must elapse (the idle-CPU window,
the last-resort quiet period) are named here so that their cost is visible.
"""
from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Settings:
    # Deadlines for events (elapse only when something is wrong).
    expect_timeout: float = 3.0       # an expected line, byte string or connection
    start_timeout: float = 3.0        # the program to listen on its port
    exit_timeout: float = 2.0         # the program to exit once it should
    prompt_exit_timeout: float = 1.0  # "exits promptly" after ^D
    poll_interval: float = 0.002      # how often a condition without an event source is re-read
    stall_window: float = 0.5         # asleep, unchanged, waiting for input we will not send
    stall_poll: float = 0.02          # how often a waiting check looks for such a stall
    exit_grace: float = 0.05          # after every program ended, for what it sent to arrive
    exit_drain: float = 1.0           # after a program exited, for its terminal's last output
    # Where the kernel gives no exec notifications, how often the programs each process of a
    # case runs are read (grader/harness/execs.py): a shorter-lived exec may go unseen.
    exec_sample_interval: float = 0.05

    # Waits that must elapse.
    idle_window: float = 0.06         # CPU use is measured over this long (ns-exact schedstat)
    idle_cpu_fraction: float = 0.2    # share of one core above which a program "spins"
    quiet_period: float = 0.15        # last resort to show that nothing happened

    # A check run again windowed: a terminal tall enough that a check's lines stay in view
    # and wide enough for its longest line (the talk library drops what passes the row).
    windowed_size: tuple = (240, 256)  # rows, columns

    # Limits for untrusted programs.
    output_cap: int = 1 << 20         # bytes kept per stream; the rest is counted, not kept
    cpu_seconds: int = 20             # RLIMIT_CPU
    address_space: int = 1 << 30      # RLIMIT_AS, bytes
    open_files: int = 256             # RLIMIT_NOFILE
    file_size: int = 16 << 20         # RLIMIT_FSIZE, bytes
    max_processes: int = 64           # pids.max of the case's cgroup (or RLIMIT_NPROC)
    build_timeout: float = 120.0      # make, per submission, retries and fallback included
    handin_bytes: int = 64 << 20      # a handin's copy in all (each file: file_size at most)
    handin_files: int = 10_000        # files and directories in a handin's copy
    run_disk_bytes: int = 256 << 20   # a grading's run directory (build and cases): a tmpfs
    run_disk_inodes: int = 20_000     # ... of this size and number of files, where one can be had
    student_budget: float = 120.0     # one student's whole grading in a batch
    sandbox_user: str = "nobody"      # who student programs run as when the grader is root
    # Containment (contain.py): as root, each grading leases a uid of its own from this
    # range of unused ids (0 = everyone runs as sandbox_user). In every program's view that uid
    # (as a normal user, yours) is named sandbox_login: one name for all, so no verdict depends
    # on which uid was leased. Not 8 bytes (sizeof(char *)) and longer than 16, so a name sent
    # with sizeof(pointer) or kept in a short fixed buffer shows.
    sandbox_uid_first: int = 1_900_000_000
    sandbox_uid_count: int = 1000
    sandbox_login: str = "student-with-a-long-name"
    # The reference peers' own loopback address, and its name in the view's /etc/hosts: a
    # client must dial the host it is given, and a server's prompt shows the peer, not itself.
    peer_address: str = "127.0.0.2"
    peer_host: str = "peerhost"
    time_wait_timeout: float = 65.0   # a fixed port held in TIME_WAIT (60 s) to be free again
    time_wait_poll: float = 0.1       # how often that port is looked at meanwhile
    build_drain: float = 0.2          # after make ended, for its last output before the pipe is cut
    build_retries: int = 3            # forking make failed (EAGAIN): tries again this often
    build_retry_pause: float = 0.5    # between those tries, for processes to end

    def scaled(self, factor: float) -> "Settings":
        """Deadlines stretched for a slow machine; waits that must elapse stay as they are."""
        names = ("expect_timeout", "start_timeout", "exit_timeout", "prompt_exit_timeout",
                 "stall_window", "exit_grace", "exit_drain", "build_timeout", "student_budget")
        return dataclasses.replace(self, **{n: getattr(self, n) * factor for n in names})


def scale() -> float:
    """GRADER_TIMEOUT_SCALE, the factor for every deadline on a slow machine (1 when unset)."""
    return float(os.environ.get("GRADER_TIMEOUT_SCALE", "1") or 1)


def load() -> Settings:
    """Default settings, with deadlines scaled by GRADER_TIMEOUT_SCALE when it is set."""
    factor = scale()
    return Settings().scaled(factor) if factor != 1 else Settings()
