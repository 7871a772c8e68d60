/*
 * mytalk -- Assignment 5
 * usage: mytalk [-v] [-a] [-N] [hostname] port
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "talk.h"

#define BUFSIZE 2048

int verbose = 0, autoaccept = 0, windows = 1;

void usage(void)
{
    fprintf(stderr, "usage: mytalk [-v] [-a] [-N] [hostname] port\n");
    exit(1);
}

int get_port(char *s)
{
    char *end;
    long p = strtol(s, &end, 10);

    if (*s == '\0' || *end != '\0' || p < 1 || p > 65535) {
        fprintf(stderr, "mytalk: invalid port %s\n", s);
        usage();
    }
    return (int)p;
}

int do_client(char *host, char *port)
{
    struct addrinfo hints, *res;
    struct passwd *pw = getpwuid(getuid());
    char buf[BUFSIZE];
    int sock, n;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        fprintf(stderr, "mytalk: unknown host %s\n", host);
        exit(1);
    }
    sock = socket(AF_INET, SOCK_STREAM, 0);
    if (sock < 0 || connect(sock, res->ai_addr, res->ai_addrlen) < 0) {
        perror("connect");
        exit(1);
    }
    freeaddrinfo(res);
    send(sock, pw->pw_name, strlen(pw->pw_name) + 1, 0);
    printf("Waiting for response from %s.\n", host);
    fflush(stdout);
    n = recv(sock, buf, sizeof(buf), 0);
    if (n < 2 || strncmp(buf, "ok", 2) != 0) {
        printf("%s declined connection.\n", host);
        close(sock);
        exit(0);
    }
    return sock;
}

int do_server(int port)
{
    struct sockaddr_in sa, peer;
    socklen_t len = sizeof(peer);
    char name[BUFSIZE], host[NI_MAXHOST], ans[BUFSIZE];
    int lsock, sock, n, one = 1;

    lsock = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lsock, 1) < 0) {
        perror("bind");
        exit(1);
    }
    sock = accept(lsock, (struct sockaddr *)&peer, &len);
    close(lsock);
    n = recv(sock, name, sizeof(name) - 1, 0);
    if (n < 0)
        n = 0;
    name[n] = '\0';
    getnameinfo((struct sockaddr *)&peer, len, host, sizeof(host), NULL, 0, 0);
    if (!autoaccept) {
        printf("Mytalk request from %s@%s.  Accept (y/n)? ", name, host);
        fflush(stdout);
        if (fgets(ans, sizeof(ans), stdin) == NULL)
            ans[0] = '\0';
        ans[strcspn(ans, "\n")] = '\0';
        for (n = 0; ans[n]; n++)
            ans[n] = tolower((unsigned char)ans[n]);
        if (strcmp(ans, "y") != 0 && strcmp(ans, "yes") != 0) {
            send(sock, "no", 3, 0);
            close(sock);
            exit(0);
        }
    }
    send(sock, "ok", 3, 0);
    return sock;
}

void chat(int sock)
{
    struct pollfd fds[2];
    char buf[BUFSIZE];
    int n, timeout = -1, closed = 0;

    if (windows)
        start_windowing();
    fds[0].fd = 0;
    fds[0].events = POLLIN;
    fds[1].fd = sock;
    fds[1].events = POLLIN;
    while (1) {
        if (closed) {
            /* other side is gone, just wait here for ^C */
            poll(fds, 0, timeout);
            continue;
        }
        poll(fds, 2, timeout);
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            n = recv(sock, buf, sizeof(buf) - 1, 0);
            if (n <= 0) {
                fprint_to_output("\nConnection closed.  ^C to terminate.\n");
                closed = 1;
                timeout = 0;
                continue;
            }
            buf[n] = '\0';
            write_to_output(buf, n);
            if (strcmp(buf, "bye\n") == 0)
                break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            update_input_buffer();
            if (has_whole_line()) {
                n = read_from_input(buf, sizeof(buf));
                if (n > 0)
                    send(sock, buf, n, 0);
                if (has_hit_eof() || strcmp(buf, "bye\n") == 0)
                    break;
            }
        }
    }
    stop_windowing();
    close(sock);
}

int main(int argc, char *argv[])
{
    int opt, sock;

    while ((opt = getopt(argc, argv, "vaN")) != -1) {
        if (opt == 'v')
            verbose++;
        else if (opt == 'a')
            autoaccept = 1;
        else if (opt == 'N')
            windows = 0;
        else
            usage();
    }
    set_verbosity(verbose);
    if (argc - optind == 1) {
        sock = do_server(get_port(argv[optind]));
    } else if (argc - optind == 2) {
        get_port(argv[optind + 1]);
        sock = do_client(argv[optind], argv[optind + 1]);
    } else {
        usage();
        return 1;
    }
    chat(sock);
    return 0;
}
