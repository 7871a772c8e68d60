/*
 * main.c: command line handling for mytalk.
 *
 *   mytalk [ -v ] [ -a ] [ -N ] [ hostname ] port
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mytalk.h"
#include "talk.h"

static void usage(void)
{
    fprintf(stderr, "usage: mytalk [ -v ] [ -a ] [ -N ] [ hostname ] port\n");
    exit(1);
}

void fatal(const char *what)
{
    stop_windowing();
    perror(what);
    exit(1);
}

/* Turn "12345" into a port number, or -1 if it is not one. */
static int port_number(const char *text)
{
    char *end;
    long value;

    if (*text == '\0')
        return -1;
    value = strtol(text, &end, 10);
    if (*end != '\0' || value < 1 || value > 65535)
        return -1;
    return (int)value;
}

static void read_args(int argc, char *argv[], struct settings *s)
{
    char *plain[2];
    int nplain = 0;
    int i, j;

    s->verbosity = 0;
    s->accept_all = 0;
    s->use_windows = 1;
    s->hostname = NULL;
    for (i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            for (j = 1; argv[i][j] != '\0'; j++) {
                if (argv[i][j] == 'v') {
                    s->verbosity++;
                } else if (argv[i][j] == 'a') {
                    s->accept_all = 1;
                } else if (argv[i][j] == 'N') {
                    s->use_windows = 0;
                } else {
                    fprintf(stderr, "mytalk: unknown option -%c\n", argv[i][j]);
                    usage();
                }
            }
        } else if (nplain < 2) {
            plain[nplain++] = argv[i];
        } else {
            usage();
        }
    }
    if (nplain == 0)
        usage();
    if (nplain == 2)
        s->hostname = plain[0];
    s->port = port_number(plain[nplain - 1]);
    if (s->port < 0) {
        fprintf(stderr, "mytalk: bad port \"%s\" (must be 1-65535)\n", plain[nplain - 1]);
        usage();
    }
}

int main(int argc, char *argv[])
{
    struct settings s;
    struct leftover extra;
    int sock;

    read_args(argc, argv, &s);
    set_verbosity(s.verbosity);
    extra.len = 0;
    if (s.hostname != NULL)
        sock = be_client(&s, &extra);
    else
        sock = be_server(&s);
    if (sock < 0)
        return 0;
    talk_loop(sock, &s, &extra);
    return 0;
}
