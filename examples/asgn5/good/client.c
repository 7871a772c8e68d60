/* client.c: the calling side of mytalk. */
#include <errno.h>
#include <netdb.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "mytalk.h"

static int dial(const char *host, int port)
{
    struct addrinfo want, *list, *p;
    char service[16];
    int fd = -1;
    int rc;

    memset(&want, 0, sizeof(want));
    want.ai_family = AF_INET;
    want.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%d", port);
    rc = getaddrinfo(host, service, &want, &list);
    if (rc != 0) {
        fprintf(stderr, "mytalk: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    for (p = list; p != NULL && fd < 0; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (fd >= 0 && connect(fd, p->ai_addr, p->ai_addrlen) < 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    return fd;
}

int be_client(const struct settings *s, struct leftover *extra)
{
    struct passwd *me = getpwuid(getuid());
    const char *name = me ? me->pw_name : "nobody";
    char answer[MAX_NAME];
    ssize_t got;
    size_t used;
    int fd;

    fd = dial(s->hostname, s->port);
    if (fd < 0)
        fatal("connect");
    if (send(fd, name, strlen(name) + 1, 0) < 0)
        fatal("send");
    printf("Waiting for response from %s.\n", s->hostname);
    fflush(stdout);

    got = recv(fd, answer, sizeof(answer) - 1, 0);
    if (got < 0)
        fatal("recv");
    answer[got] = '\0';
    if (got < 2 || strncmp(answer, "ok", 2) != 0) {
        printf("%s declined connection.\n", s->hostname);
        close(fd);
        return -1;
    }
    /* The answer is "ok", maybe with a NUL; anything after it is the first chat text. */
    used = strnlen(answer, (size_t)got);
    while (used < (size_t)got && answer[used] == '\0')
        used++;
    if (used == (size_t)got && got > 2 && answer[2] != '\0')
        used = 2;
    extra->len = (size_t)got - used;
    memcpy(extra->data, answer + used, extra->len);
    if (s->verbosity > 0)
        fprintf(stderr, "mytalk: %s accepted\n", s->hostname);
    return fd;
}
