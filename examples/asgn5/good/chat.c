/* chat.c: the conversation itself, once both sides have agreed to talk. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "mytalk.h"
#include "talk.h"

static void interrupted(int sig)
{
    (void)sig;
    stop_windowing();
    _exit(0);
}

/* Send the whole buffer, however many calls it takes. */
static void send_fully(int fd, const char *buf, size_t len)
{
    ssize_t sent;

    while (len > 0) {
        sent = send(fd, buf, len, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return;             /* the peer is gone; recv will tell us */
        }
        buf += sent;
        len -= sent;
    }
}

/* The other side hung up: say so and wait for ^C. */
static void peer_left(int sock)
{
    close(sock);
    fprint_to_output("\nConnection closed.  ^C to terminate.\n");
    for (;;)
        pause();
}

void talk_loop(int sock, const struct settings *s, const struct leftover *extra)
{
    struct pollfd watch[2];
    char line[MAX_LINE];
    char incoming[NET_BUF];
    ssize_t got;
    int len;

    if (s->use_windows) {
        signal(SIGINT, interrupted);
        start_windowing();
    }
    if (extra->len > 0)
        write_to_output(extra->data, extra->len);

    watch[0].fd = STDIN_FILENO;
    watch[0].events = POLLIN;
    watch[1].fd = sock;
    watch[1].events = POLLIN;
    for (;;) {
        if (poll(watch, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            fatal("poll");
        }
        if (watch[1].revents) {
            got = recv(sock, incoming, sizeof(incoming), 0);
            if (got <= 0)
                peer_left(sock);
            else
                write_to_output(incoming, got);
        }
        if (watch[0].revents) {
            update_input_buffer();
            if (has_whole_line()) {
                len = read_from_input(line, sizeof(line));
                if (len > 0)
                    send_fully(sock, line, len);
                if (len == ERR || has_hit_eof())
                    break;
            }
        }
    }
    stop_windowing();
    close(sock);
}
