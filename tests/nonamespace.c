/* Runs a command the way Docker's defaults run a container's processes (tests/nonamespace.py).
 *
 *   nonamespace [-r] [-b FILE=TARGET]... -- PROGRAM ARGS...
 *
 * -r: first a mount namespace of our own in which /sys/fs/cgroup is read-only (Docker mounts
 * it so); -b: in it, FILE bound on TARGET (an image's own /etc/passwd, say). Then, for the command and everything it starts: Docker's capability set (no
 * CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_AUDIT_CONTROL, ...) and a seccomp filter that, like
 * Docker's default profile, refuses unshare, setns, mount, umount and pivot_root with EPERM,
 * clone with any namespace flag with EPERM, and clone3 with ENOSYS (so that libc falls back
 * to clone, whose flags the filter can read). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <mntent.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
                  CLONE_NEWPID | CLONE_NEWNET)
#define REFUSE(nr, err) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
                        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err))

static const int docker_caps[] = {
    CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID,
    CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL,
    CAP_AUDIT_WRITE};

static int fail(const char *what)
{
    fprintf(stderr, "nonamespace: %s: %s\n", what, strerror(errno));
    return 127;
}

int main(int argc, char *argv[])
{
    int i = 1, readonly_cgroup = 0, nbinds = 0;
    char *binds[32];
    for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
        readonly_cgroup |= strcmp(argv[i], "-r") == 0;
        if (strcmp(argv[i], "-b") == 0 && i + 1 < argc && nbinds < 32)
            binds[nbinds++] = argv[++i];
    }
    if (i + 1 >= argc)
        return 127;
    if (readonly_cgroup || nbinds) {
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            return fail("mount namespace");
        for (int k = 0; k < nbinds; k++) {
            char *eq = strchr(binds[k], '=');
            if (eq == NULL)
                return 127;
            *eq = 0;
            if (mount(binds[k], eq + 1, NULL, MS_BIND, NULL) < 0)
                return fail(eq + 1);
        }
    }
    if (readonly_cgroup) {       /* every mount at or under /sys/fs/cgroup (v1 has several) */
        FILE *mounts = setmntent("/proc/self/mounts", "r");
        struct mntent *m;
        if (mounts == NULL)
            return fail("/proc/self/mounts");
        while ((m = getmntent(mounts)) != NULL)
            if (strncmp(m->mnt_dir, "/sys/fs/cgroup", 14) == 0 &&
                mount(NULL, m->mnt_dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
                      MS_NODEV | MS_NOEXEC, NULL) < 0)
                return fail("read-only /sys/fs/cgroup");
        endmntent(mounts);
    }
    if (geteuid() == 0) {
        unsigned long long keep = 0;
        for (size_t k = 0; k < sizeof docker_caps / sizeof docker_caps[0]; k++)
            keep |= 1ULL << docker_caps[k];
        for (int cap = 0; cap < 64; cap++)
            if (!(keep & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 &&
                errno != EINVAL)
                return fail("dropping capabilities");
        struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct data[2] = {
            {(unsigned)keep, (unsigned)keep, 0}, {(unsigned)(keep >> 32), (unsigned)(keep >> 32), 0}};
        if (syscall(SYS_capset, &head, data) < 0)
            return fail("capset");
    }
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        REFUSE(__NR_unshare, EPERM),
        REFUSE(__NR_setns, EPERM),
        REFUSE(__NR_mount, EPERM),
        REFUSE(__NR_umount2, EPERM),
        REFUSE(__NR_pivot_root, EPERM),
        REFUSE(__NR_clone3, ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, NS_FLAGS, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        return fail("seccomp");
    execvp(argv[i + 1], &argv[i + 1]);
    return fail(argv[i + 1]);
}
