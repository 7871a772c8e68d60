/* Starts one student program on the terminal it was given as stdin/stdout/stderr.
 *
 *   launcher PARENT CGROUP_PROCS UID GID RESOURCE=LIMIT... -- PROGRAM ARGS...
 *
 * CGROUP_PROCS, UID and GID may be "-". In order: default signal handling, a session of its
 * own with the terminal as controlling tty, the case's cgroup, resource limits, no new
 * privileges, the unprivileged user, and death with the grader; then exec. The same rules as
 * sandbox.Policy.preexec, in a small C program that the grader starts without forking a
 * Python interpreter (whose copy-on-write pages make each start cost milliseconds). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "grader launcher: %s: %s\n", what, strerror(errno));
    _exit(127);
}

int main(int argc, char *argv[])
{
    if (argc < 7)
        return 127;
    pid_t parent = (pid_t)atol(argv[1]);
    sigset_t none;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (setsid() < 0)
        die("setsid");
    if (isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
        die("controlling terminal");

    if (strcmp(argv[2], "-") != 0) {
        int fd = open(argv[2], O_WRONLY);
        if (fd < 0 || dprintf(fd, "%d", (int)getpid()) < 0)
            die("cgroup");
        close(fd);
    }

    int i = 5;
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int resource;
        unsigned long long value;
        struct rlimit now, want;
        if (sscanf(argv[i], "%d=%llu", &resource, &value) != 2)
            return 127;
        if (getrlimit(resource, &now) < 0)
            die("getrlimit");
        want.rlim_cur = want.rlim_max =
            (now.rlim_max == RLIM_INFINITY || value < now.rlim_max) ? value : now.rlim_max;
        if (setrlimit(resource, &want) < 0)
            die("setrlimit");
    }
    if (i + 1 >= argc)
        return 127;

    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (strcmp(argv[3], "-") != 0) {
        if (setgroups(0, NULL) < 0 || setgid((gid_t)atol(argv[4])) < 0 ||
            setuid((uid_t)atol(argv[3])) < 0)
            die("user");
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);   /* after setuid, which would clear it */
    if (getppid() != parent)
        _exit(127);
    execvp(argv[i + 1], &argv[i + 1]);
    die(argv[i + 1]);
    return 127;
}
