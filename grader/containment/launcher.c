/* Starts one untrusted program (a check's program, a usage run, make) inside its containment.
 *
 *   launcher [OPTIONS] -- PROGRAM ARGS...
 *   launcher -I PARENT                       (the run's PID-namespace init: reaps, never exits)
 *
 * Options, applied in this order (grader/contain.py builds the command):
 *   -P PID       the grader's pid: die with it (parent-death signal), and check it is still there
 *   -c FILE      join the cgroup whose cgroup.procs is FILE
 *   -U           a user namespace of our own, mapping our uid and gid to themselves (not root:
 *                it gives us the right to make the namespaces below, until exec)
 *   -m           a mount namespace of our own (mounts below stay private to it)
 *   -i           an IPC namespace of our own (System V objects, POSIX queues)
 *   -R DIR       a new root: a tmpfs on DIR (an empty directory) holding only what -s, -t, -b
 *                and -r put there, made read-only and pivoted into; with it, every destination
 *                below is a path in the new root (see "the new root" below)
 *   -s DIR       a system tree shown read-only in the new root (/usr, /etc, /dev...): bound
 *                recursively, every mount in it read-only; a symbolic link (/bin -> usr/bin)
 *                is made again as the same link
 *   -t DIR       a fresh, empty tmpfs on DIR (/tmp, /var/tmp, /dev/shm) if DIR exists (in a new
 *                root: always, made if need be)
 *   -h DIR       an empty, read-only tmpfs on DIR if it exists (masks the grader's own files
 *                where they lie inside a system tree, e.g. a package under /usr/lib/python3)
 *   -b SRC=DST   bind SRC on DST, writable;  -r SRC=DST  the same, read-only
 *                (sources are opened before any mount, so they may lie under a tmpfs target)
 *   -p           a fresh /proc for our PID namespace (only our run's processes are visible)
 *   -q DIR       in a new root, DIR (a /proc of our PID namespace, mounted by the grader) on /proc
 *   -o UID       login uid: written to /proc/self/loginuid (root) ...
 *   -O FILE      ... or, where that is refused, FILE (holding the uid) bound over it
 *   -W NAME      a utmp record of NAME logged in on our terminal, in a private utmp file bound
 *                over the machine's (where the machine has one; glibc's getlogin() reads utmp
 *                only when /proc/self/loginuid cannot be opened, programs like `who` read it)
 *   -C DIR       working directory, entered after the mounts
 *   -l RES=VAL   a resource limit, soft and hard
 *   -u UID -g GID  the unprivileged user, without supplementary groups
 *   -e FD        our own failures (before exec) are written to FD too, as "ERRNO message":
 *                the grader tells them from the program's output by where they came from
 *   -x FD        every program the program and its descendants execute is seen: a seccomp
 *                filter makes execve and execveat wait for the grader's answer (a user
 *                notification), and its descriptor is sent over the unix socket FD with the
 *                message "0"; where the kernel refuses, the message is "ERRNO" alone and the
 *                grader falls back to sampling (grader/execs.py). The program is then
 *                executed with execv, PATH searched here first: its own exec is the first
 *                notification, and the only one before it runs
 * Always: default signal handling, an empty signal mask, a session of its own (and the terminal
 * as controlling tty when stdin is one), no new privileges, a fresh session keyring (nothing
 * of the grader's keys), no nested user namespace and no memfd (a seccomp filter: both would
 * escape the memory and tmpfs bounds), death with the grader.
 *
 * The older positional form "PARENT CGROUP_PROCS UID GID RES=VAL... -- PROGRAM" is accepted. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <unistd.h>
#include <utmpx.h>

#define MAX_ITEMS 64

static int error_fd = -1;

static void die(const char *what, const char *arg)
{
    int e = errno;
    fprintf(stderr, "grader launcher: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "",
            strerror(e));
    if (error_fd >= 0)
        dprintf(error_fd, "%d %s%s%s: %s\n", e, what, arg ? " " : "", arg ? arg : "",
                strerror(e));
    _exit(127);
}

#if defined(__x86_64__)
#define OUR_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define OUR_ARCH AUDIT_ARCH_AARCH64
#endif

/* unshare/clone with CLONE_NEWUSER fail with EPERM, clone3 (whose flags a filter cannot read)
 * and memfd_create with ENOSYS (glibc then falls back to clone), as do the system calls of
 * another ABI (x32, i386), whose numbers would get past the checks. */
static void refuse_escapes(void)
{
#ifdef OUR_ARCH
#define ARG0 offsetof(struct seccomp_data, args[0])
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, OUR_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1),           /* x32 */
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_memfd_create, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 1, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG0),        /* the flags' low word */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
        die("system call filter", NULL);
#endif
}

/* The filter that makes every later execve and execveat wait for the grader (-x), and the
 * grader told over `sock`: the notification descriptor, or why there is none. */
static void watch_execs(int sock)
{
    int listener = -1;
    char status[16];
#if defined(OUR_ARCH) && defined(SECCOMP_FILTER_FLAG_NEW_LISTENER)
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog prog = { sizeof filter / sizeof filter[0], filter };
    listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                            SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    snprintf(status, sizeof status, "%d", listener >= 0 ? 0 : errno);
#else
    snprintf(status, sizeof status, "%d", ENOSYS);
#endif
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct iovec iov = { status, strlen(status) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (listener >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &listener, sizeof(int));
    }
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
        die("telling the grader about execs", NULL);
    if (listener >= 0)
        close(listener);
    close(sock);
}

/* program[0] as execvp would find it, so that the one exec after watch_execs is the
 * program's own (execvp might try several, or /bin/sh for a script without a #! line). */
static const char *find_program(const char *name, char *buf, size_t size)
{
    const char *path = getenv("PATH");
    if (strchr(name, '/') || path == NULL)
        return name;
    while (*path) {
        size_t len = strcspn(path, ":");
        if ((size_t)snprintf(buf, size, "%.*s/%s", (int)len, len ? path : ".", name) < size &&
            access(buf, X_OK) == 0)
            return buf;
        path += len + (path[len] == ':');
    }
    return name;
}

static void put(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die("write", path);
    close(fd);
}

/* mkdir -p, for mount points inside a fresh tmpfs. */
static void make_dirs(const char *path)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

static unsigned long locked_flags(const char *path)
{
    struct statvfs sv;
    unsigned long flags = 0;
    if (statvfs(path, &sv) == 0) {
        if (sv.f_flag & ST_NOSUID) flags |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV) flags |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
        if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
        if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
        if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    }
    return flags;
}

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

struct mount_attr_rdonly { unsigned long long attr_set, attr_clr, propagation, userns_fd; };

static int remount_read_only(const char *path)
{
    return mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(path), NULL);
}

/* Every mount at and under path read-only: one call where the kernel has mount_setattr
 * (5.12), else the top mount and each one below it as /proc/self/mountinfo lists them. */
static void read_only_tree(const char *path)
{
    struct mount_attr_rdonly attr = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
    char line[8192], point[4096];
    size_t len = strlen(path);
    if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof attr) == 0)
        return;
    if (remount_read_only(path) < 0)
        die("read-only remount of", path);
    FILE *f = fopen("/proc/self/mountinfo", "re");
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 &&
            strncmp(point, path, len) == 0 && point[len] == '/')
            remount_read_only(point);      /* best effort below the top: locked mounts stay */
    if (f != NULL)
        fclose(f);
}

struct bind { const char *src, *dst; int fd; int ro; };

static void bind_fd(int fd, const char *dst, int ro, int is_dir)
{
    char src[64];
    struct stat st;
    if (stat(dst, &st) < 0) {
        if (is_dir)
            make_dirs(dst);
        else {
            int t = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (t >= 0)
                close(t);
        }
    }
    snprintf(src, sizeof src, "/proc/self/fd/%d", fd);
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
        die("bind mount on", dst);
    if (ro)
        read_only_tree(dst);
}

/* ---- the new root (-R) -------------------------------------------------------------------
 * A program sees an allow-list, not the machine minus a deny-list: a tmpfs root holding the
 * system trees (-s), its private tmpfs (-t), the run's files (-r, -b) and nothing else: not
 * the grader's package, its virtual environment, its cache, the TA's home or the reports.
 * Every mount in it is read-only but the tmpfs and the writable binds, the root included. */

struct tree { const char *path; int fd; char link[4096]; };

/* Opened before any mount (a tmpfs may cover the path later); a link is read as a link. */
static void take_tree(struct tree *t)
{
    struct stat st;
    ssize_t n;
    t->fd = -1;
    t->link[0] = 0;
    if (lstat(t->path, &st) < 0)
        return;
    if (S_ISLNK(st.st_mode) && (n = readlink(t->path, t->link, sizeof t->link - 1)) > 0)
        t->link[n] = 0;
    else if (S_ISDIR(st.st_mode) && (t->fd = open(t->path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        die("open", t->path);
}

/* root + path, for destinations in the new root. */
static const char *in_root(const char *root, const char *path, char *buf, size_t size)
{
    if (root == NULL)
        return path;
    if ((size_t)snprintf(buf, size, "%s%s", root, path) >= size) {
        errno = ENAMETOOLONG;
        die("path", path);
    }
    return buf;
}

/* The tree t on dst in the new root (its own path but for /proc, which -q may take from
 * elsewhere). */
static void show_tree(const char *root, const struct tree *t, const char *dst)
{
    char where[4096];
    in_root(root, dst, where, sizeof where);
    if (t->link[0]) {
        if (symlink(t->link, where) < 0 && errno != EEXIST)
            die("link", where);
    } else if (t->fd >= 0) {
        bind_fd(t->fd, where, 0, 1);
        read_only_tree(where);
    }
}

/* Enter the new root: the old one is detached (nothing of it stays reachable), and the new
 * root's own tmpfs is made read-only. */
static void enter_root(const char *root)
{
    if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
        die("pivot_root to", root);
    if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        die("detaching the old root", NULL);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        die("read-only remount of", "/");
}

/* A private utmp file with one record, NAME on our terminal, bound over the machine's. */
static void record_login(const char *name)
{
    char path[] = "/tmp/.grader-utmp-XXXXXX";
    const char *tty = ttyname(STDIN_FILENO);
    struct utmpx ut;
    struct timeval now;
    if (tty == NULL || access(_PATH_UTMPX, F_OK) != 0)
        return;
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    fchmod(fd, 0644);
    close(fd);
    const char *line = strncmp(tty, "/dev/", 5) == 0 ? tty + 5 : tty;
    size_t len = strlen(line);
    memset(&ut, 0, sizeof ut);
    ut.ut_type = USER_PROCESS;
    ut.ut_pid = getpid();
    strncpy(ut.ut_line, line, sizeof ut.ut_line);
    strncpy(ut.ut_id, len > sizeof ut.ut_id ? line + len - sizeof ut.ut_id : line,
            sizeof ut.ut_id);
    strncpy(ut.ut_user, name, sizeof ut.ut_user);
    gettimeofday(&now, NULL);
    ut.ut_tv.tv_sec = (int32_t)now.tv_sec;
    ut.ut_tv.tv_usec = (int32_t)now.tv_usec;
    if (utmpxname(path) == 0) {
        setutxent();
        pututxline(&ut);
        endutxent();
        if (mount(path, _PATH_UTMPX, NULL, MS_BIND, NULL) == 0)
            mount(NULL, _PATH_UTMPX, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
                  MS_NODEV | locked_flags(_PATH_UTMPX), NULL);
    }
    unlink(path);        /* the bind keeps it; the program's /tmp stays empty */
}

static int init_main(pid_t parent)
{
    sigset_t chld;
    /* Our parent is outside our PID namespace, so getppid() says 0 whether or not it lives: a
     * grader that died before this line is covered by its watchdog (we carry its marker). */
    (void)parent;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    /* Not dumpable: programs of our namespace that run as our user cannot reach the grader's
     * files through /proc/1/root, nor trace us. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    setsid();
    for (int fd = 0; fd < 1024; fd++)
        close(fd);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        sigwaitinfo(&chld, NULL);
    }
    return 0;
}

int main(int argc, char *argv[])
{
    pid_t parent = 0;
    const char *cgroup = NULL, *workdir = NULL, *loginuid = NULL, *loginuid_file = NULL;
    const char *login_name = NULL, *root = NULL, *procdir = NULL;
    struct tree trees[MAX_ITEMS], proc_tree = { "/proc", -1, "" }, utmp = { _PATH_UTMPX, -1, "" };
    int ntrees = 0;
    char where[4096];
    long uid = -1, gid = -1;
    int userns = 0, mountns = 0, ipcns = 0, proc = 0, loginuid_fd = -1, progdir_fd = -1;
    int exec_sock = -1;
    const char *tmpfs[MAX_ITEMS], *hidden[MAX_ITEMS];
    int nhidden = 0;
    struct bind binds[MAX_ITEMS];
    const char *limits[MAX_ITEMS];
    int ntmpfs = 0, nbinds = 0, nlimits = 0, i = 1;

    if (argc >= 3 && strcmp(argv[1], "-I") == 0)
        return init_main((pid_t)atol(argv[2]));

    if (argc > 1 && argv[1][0] != '-') {          /* the older positional form */
        if (argc < 7)
            return 127;
        parent = (pid_t)atol(argv[1]);
        cgroup = strcmp(argv[2], "-") ? argv[2] : NULL;
        uid = strcmp(argv[3], "-") ? atol(argv[3]) : -1;
        gid = strcmp(argv[4], "-") ? atol(argv[4]) : -1;
        for (i = 5; i < argc && strcmp(argv[i], "--") != 0; i++)
            if (nlimits < MAX_ITEMS)
                limits[nlimits++] = argv[i];
    } else {
        for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
            const char *opt = argv[i];
            if (strlen(opt) != 2 || opt[0] != '-')
                return 127;
            if (strchr("UmipT", opt[1])) {
                userns |= opt[1] == 'U';
                mountns |= opt[1] == 'm';
                ipcns |= opt[1] == 'i';
                proc |= opt[1] == 'p';
                continue;
            }
            if (i + 1 >= argc)
                return 127;
            const char *val = argv[++i];
            switch (opt[1]) {
            case 'P': parent = (pid_t)atol(val); break;
            case 'c': cgroup = val; break;
            case 'u': uid = atol(val); break;
            case 'g': gid = atol(val); break;
            case 'C': workdir = val; break;
            case 'o': loginuid = val; break;
            case 'O': loginuid_file = val; break;
            case 'W': login_name = val; break;
            case 'e':
                error_fd = atoi(val);
                if (fcntl(error_fd, F_SETFD, FD_CLOEXEC) < 0)
                    error_fd = -1;
                break;
            case 'x':
                exec_sock = atoi(val);
                if (fcntl(exec_sock, F_SETFD, FD_CLOEXEC) < 0)
                    die("exec watch descriptor", val);
                break;
            case 'R': root = val; break;
            case 'q': procdir = val; break;
            case 's':
                if (ntrees < MAX_ITEMS) trees[ntrees++].path = val;
                break;
            case 'l':
                if (nlimits < MAX_ITEMS) limits[nlimits++] = val;
                break;
            case 't':
                if (ntmpfs < MAX_ITEMS) tmpfs[ntmpfs++] = val;
                break;
            case 'h':
                if (nhidden < MAX_ITEMS) hidden[nhidden++] = val;
                break;
            case 'b': case 'r': {
                char *eq = strchr(val, '=');
                if (!eq || nbinds >= MAX_ITEMS)
                    return 127;
                *eq = 0;
                binds[nbinds].src = val;
                binds[nbinds].dst = eq + 1;
                binds[nbinds].ro = opt[1] == 'r';
                nbinds++;
                break;
            }
            default:
                return 127;
            }
        }
    }
    if (i + 1 >= argc)
        return 127;
    char **program = &argv[i + 1];

    sigset_t none;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (getsid(0) != getpid() && setsid() < 0)
        die("setsid", NULL);
    if (isatty(STDIN_FILENO) && ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
        die("controlling terminal", NULL);

    if (cgroup) {
        int fd = open(cgroup, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || dprintf(fd, "%d", (int)getpid()) < 0)
            die("cgroup", cgroup);
        close(fd);
    }

    /* As root, the login uid is written before any namespace: it needs the real capability. */
    int loginuid_done = 0;
    if (loginuid) {
        int fd = open("/proc/self/loginuid", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            loginuid_done = write(fd, loginuid, strlen(loginuid)) == (ssize_t)strlen(loginuid);
            close(fd);
        }
    }

    if (userns) {
        char map[64];
        uid_t u = getuid();
        gid_t g = getgid();
        if (unshare(CLONE_NEWUSER) < 0)
            die("user namespace", NULL);
        put("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "%u %u 1", (unsigned)u, (unsigned)u);
        put("/proc/self/uid_map", map);
        snprintf(map, sizeof map, "%u %u 1", (unsigned)g, (unsigned)g);
        put("/proc/self/gid_map", map);
    }
    if (mountns || ipcns) {
        if (unshare((mountns ? CLONE_NEWNS : 0) | (ipcns ? CLONE_NEWIPC : 0)) < 0)
            die("namespace", NULL);
    }
    if (mountns) {
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
            die("private mounts", NULL);
        /* Opened in the new namespace (a bind's source must be in it), before any tmpfs
         * covers them. */
        for (int k = 0; k < nbinds; k++)
            if ((binds[k].fd = open(binds[k].src, O_PATH | O_CLOEXEC)) < 0)
                die("open", binds[k].src);
        if (loginuid_file)
            loginuid_fd = open(loginuid_file, O_PATH | O_CLOEXEC);
        if (root) {
            for (int k = 0; k < ntrees; k++)
                take_tree(&trees[k]);
            if (procdir)
                proc_tree.path = procdir;
            if (!proc)
                take_tree(&proc_tree);
            utmp.fd = open(_PATH_UTMPX, O_PATH | O_CLOEXEC);
        }
        /* The program itself stays reachable, wherever it lies. */
        char progdir[4096];
        struct stat before;
        if (program[0][0] == '/' && strlen(program[0]) < sizeof progdir) {
            strcpy(progdir, program[0]);
            *strrchr(progdir, '/') = 0;
            if (!progdir[0])
                strcpy(progdir, "/");
            if ((progdir_fd = open(progdir, O_PATH | O_CLOEXEC)) >= 0 && fstat(progdir_fd, &before) < 0) {
                close(progdir_fd);
                progdir_fd = -1;
            }
        }
        if (root) {
            if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV,
                      "mode=755,size=1m,nr_inodes=1024") < 0)
                die("tmpfs on", root);
            for (int k = 0; k < ntrees; k++)
                show_tree(root, &trees[k], trees[k].path);
            in_root(root, "/proc", where, sizeof where);
            make_dirs(where);
            if (!proc || mount("proc", where, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                if (proc_tree.fd < 0 && (proc_tree.fd = open("/proc", O_PATH | O_CLOEXEC)) < 0)
                    die("open", "/proc");
                show_tree(root, &proc_tree, "/proc");
            }
            /* /var/run/utmp, where the machine has one: record_login binds ours over it. */
            make_dirs(in_root(root, "/run", where, sizeof where));
            make_dirs(in_root(root, "/var", where, sizeof where));
            in_root(root, "/var/run", where, sizeof where);
            if (symlink("../run", where) < 0 && errno != EEXIST)
                die("link", where);
            if (utmp.fd >= 0)
                bind_fd(utmp.fd, in_root(root, _PATH_UTMPX, where, sizeof where), 1, 0);
        }
        for (int k = 0; k < ntmpfs; k++) {
            struct stat st;
            const char *dir = in_root(root, tmpfs[k], where, sizeof where);
            if (root)
                make_dirs(dir);
            if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                continue;
            if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV,
                      "mode=1777,size=64m,nr_inodes=4096") < 0)
                die("tmpfs on", dir);
        }
        for (int k = 0; k < nhidden; k++) {
            struct stat st;
            const char *dir = in_root(root, hidden[k], where, sizeof where);
            if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                continue;
            if (mount("tmpfs", dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                      "mode=755,size=4k,nr_inodes=16") < 0)
                die("hiding", dir);
        }
        if (proc && !root)  /* best effort: without it, /proc shows the machine's processes */
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
        for (int k = 0; k < nbinds; k++) {
            struct stat st;
            if (fstat(binds[k].fd, &st) < 0)
                die("stat", binds[k].dst);
            bind_fd(binds[k].fd, in_root(root, binds[k].dst, where, sizeof where), binds[k].ro,
                    S_ISDIR(st.st_mode));
            close(binds[k].fd);
        }
        if (progdir_fd >= 0) {
            struct stat after;
            const char *dir = in_root(root, progdir, where, sizeof where);
            if (stat(dir, &after) < 0 || after.st_dev != before.st_dev ||
                after.st_ino != before.st_ino)
                bind_fd(progdir_fd, dir, 1, 1);
            close(progdir_fd);
        }
        if (root)
            enter_root(root);
        if (loginuid && !loginuid_done && loginuid_fd >= 0) {
            char src[64];
            snprintf(src, sizeof src, "/proc/self/fd/%d", loginuid_fd);
            if (mount(src, "/proc/self/loginuid", NULL, MS_BIND, NULL) < 0)
                die("login uid", NULL);
        }
        if (login_name)
            record_login(login_name);
    }
    if (loginuid_fd >= 0)
        close(loginuid_fd);
    if (workdir && chdir(workdir) < 0)
        die("chdir", workdir);

    for (int k = 0; k < nlimits; k++) {
        int resource;
        unsigned long long value;
        struct rlimit now, want;
        if (sscanf(limits[k], "%d=%llu", &resource, &value) != 2)
            return 127;
        if (getrlimit(resource, &now) < 0)
            die("getrlimit", NULL);
        want.rlim_cur = want.rlim_max =
            (now.rlim_max == RLIM_INFINITY || value < now.rlim_max) ? value : now.rlim_max;
        if (setrlimit(resource, &want) < 0)
            die("setrlimit", NULL);
    }

    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (uid >= 0) {
        if (setgroups(0, NULL) < 0 || setgid((gid_t)gid) < 0 || setuid((uid_t)uid) < 0)
            die("user", NULL);
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);   /* after setuid, which would clear it */
    /* A keyring of its own, owned by its user: the grader's session keys are out of reach.
     * Where keyctl is refused (a container's profile), the program cannot reach keys either. */
    syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL);
    refuse_escapes();
    /* The grader died before the line above: we were re-parented (to 1 in a PID namespace,
     * where a living parent outside it shows as 0). */
    if (parent && getppid() != parent && getppid() != 0)
        _exit(127);
    if (exec_sock >= 0) {
        char found[4096];
        const char *path = find_program(program[0], found, sizeof found);
        watch_execs(exec_sock);
        execv(path, program);
        die("exec", program[0]);
    }
    execvp(program[0], program);
    die("exec", program[0]);
    return 127;
}
