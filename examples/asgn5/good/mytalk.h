/* mytalk.h: shared declarations for mytalk, a two-person talk program. */
#ifndef MYTALK_H
#define MYTALK_H

#include <stddef.h>

#define MAX_LINE 1024       /* longest line we read from the keyboard at once */
#define MAX_NAME 1100       /* room for a user name, even a padded one */
#define NET_BUF 4096        /* one read from the network */

struct settings {
    int verbosity;          /* number of -v flags */
    int accept_all;         /* -a: server accepts without asking */
    int use_windows;        /* cleared by -N */
    char *hostname;         /* NULL means we are the server */
    int port;
};

/* Text that came in with the handshake reply and still has to be shown. */
struct leftover {
    char data[MAX_NAME];
    size_t len;
};

/* client.c: connect and ask; returns the socket, or -1 if the other side said no. */
int be_client(const struct settings *s, struct leftover *extra);

/* server.c: wait for a caller and ask the user; returns the socket, or -1 on "no". */
int be_server(const struct settings *s);

/* chat.c: talk until local EOF (returns) or until the peer leaves (never returns). */
void talk_loop(int sock, const struct settings *s, const struct leftover *extra);

/* main.c: print a message about a failed call and exit. */
void fatal(const char *what);

#endif
