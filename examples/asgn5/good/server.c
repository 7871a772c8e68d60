/* server.c: the answering side of mytalk. */
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "mytalk.h"

static int open_listener(int port)
{
    struct sockaddr_in me;
    int fd, on = 1;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        fatal("socket");
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        fatal("setsockopt");
    memset(&me, 0, sizeof(me));
    me.sin_family = AF_INET;
    me.sin_port = htons(port);
    me.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0)
        fatal("bind");
    if (listen(fd, 5) < 0)
        fatal("listen");
    return fd;
}

/* Does the user's reply mean yes?  "y" or "yes" in any mix of case. */
static int said_yes(char *reply)
{
    size_t len = strlen(reply);

    while (len > 0 && isspace((unsigned char)reply[len - 1]))
        reply[--len] = '\0';
    return strcasecmp(reply, "y") == 0 || strcasecmp(reply, "yes") == 0;
}

int be_server(const struct settings *s)
{
    struct sockaddr_in caller;
    socklen_t caller_len = sizeof(caller);
    char who[MAX_NAME];
    char where[NI_MAXHOST];
    char reply[MAX_LINE];
    int listener, fd, yes;
    ssize_t got;

    listener = open_listener(s->port);
    if (s->verbosity > 0)
        fprintf(stderr, "mytalk: waiting on port %d\n", s->port);
    fd = accept(listener, (struct sockaddr *)&caller, &caller_len);
    if (fd < 0)
        fatal("accept");
    close(listener);

    got = recv(fd, who, sizeof(who) - 1, 0);
    if (got < 0)
        fatal("recv");
    who[got] = '\0';
    if (getnameinfo((struct sockaddr *)&caller, caller_len, where, sizeof(where),
                    NULL, 0, 0) != 0)
        strcpy(where, "unknown");

    if (s->accept_all) {
        yes = 1;
    } else {
        printf("Mytalk request from %s@%s.  Accept (y/n)? ", who, where);
        fflush(stdout);
        yes = fgets(reply, sizeof(reply), stdin) != NULL && said_yes(reply);
    }
    if (!yes) {
        send(fd, "no", 3, 0);
        close(fd);
        return -1;
    }
    if (send(fd, "ok", 3, 0) < 0)
        fatal("send");
    return fd;
}
