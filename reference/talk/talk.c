/*
 * talk.c: the grader's implementation of the talk library used by mytalk.
 *
 * Two modes:
 *  - plain (no start_windowing(), or stdin/stdout not both ttys): stdio, exactly as
 *    the assignment describes: fgets for input, stdout with a flush for output;
 *  - windowed (ncurses): remote text in the top window, a line of '=' below it, and
 *    the local user's input in the bottom window, echoed as it is typed.
 *
 * In windowed mode input is read from descriptor 0 one byte at a time, so nothing is
 * ever held in a hidden buffer: whatever the program's poll(2) has not yet seen is
 * still in the terminal's queue.
 */
#include <curses.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "talk.h"

#define LINE_CAP 4096          /* bytes of one input line, newline included */
#define CTRL_D 4
#define BACKSPACE 8
#define DELETE 127

static void plain_runs(void);

static int verbosity;
static int windowed;
static SCREEN *screen;
static WINDOW *remote_win, *divider_win, *local_win;

/* The input line being gathered in windowed mode. */
static char line[LINE_CAP];
static size_t line_len;
static int line_done;           /* line ends with a newline */
static int eof_seen;            /* ^D typed, or the terminal went away */
static int erase_key, kill_key; /* from the terminal's settings; 0 when unset */

int set_verbosity(int level)
{
    int old = verbosity;

    verbosity = level;
    return old;
}

/* Draw the three windows: remote text, the '=' divider, local input. */
static int make_windows(void)
{
    int top_rows, bottom_rows;

    if (LINES < 3 || COLS < 2)
        return ERR;
    top_rows = (LINES - 1) / 2;
    bottom_rows = LINES - 1 - top_rows;
    remote_win = newwin(top_rows, COLS, 0, 0);
    divider_win = newwin(1, COLS, top_rows, 0);
    local_win = newwin(bottom_rows, COLS, top_rows + 1, 0);
    if (!remote_win || !divider_win || !local_win)
        return ERR;
    scrollok(remote_win, TRUE);
    scrollok(local_win, TRUE);
    mvwhline(divider_win, 0, 0, '=', COLS);
    wnoutrefresh(stdscr);
    wnoutrefresh(remote_win);
    wnoutrefresh(divider_win);
    wnoutrefresh(local_win);
    doupdate();
    return OK;
}

static void free_windows(void)
{
    if (remote_win)
        delwin(remote_win);
    if (divider_win)
        delwin(divider_win);
    if (local_win)
        delwin(local_win);
    remote_win = divider_win = local_win = NULL;
}

/* A terminal setting as a byte to compare with input; 0 when the terminal has none. */
static int key_or_zero(char key)
{
    return key == (char)ERR ? 0 : (unsigned char)key;
}

void start_windowing(void)
{
    if (windowed)
        return;
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        if (verbosity > 0)
            fprintf(stderr, "talk: stdin and stdout are not both ttys; windowing disabled.\n");
        return;
    }
    fflush(stdout);
    screen = newterm(NULL, stdout, stdin);
    if (!screen) {
        if (verbosity > 0)
            fprintf(stderr, "talk: cannot start the terminal; windowing disabled.\n");
        return;
    }
    plain_runs();
    cbreak();
    noecho();
    erase_key = key_or_zero(erasechar());
    kill_key = key_or_zero(killchar());
    if (make_windows() == ERR) {
        free_windows();
        endwin();
        delscreen(screen);
        screen = NULL;
        if (verbosity > 0)
            fprintf(stderr, "talk: the terminal is too small; windowing disabled.\n");
        return;
    }
    line_len = 0;
    line_done = 0;
    eof_seen = 0;
    windowed = 1;
}

void stop_windowing(void)
{
    if (!windowed)
        return;
    windowed = 0;
    free_windows();
    endwin();
    delscreen(screen);
    screen = NULL;
}

/* How many columns byte c takes on screen: itself, nothing for BEL, or "\ooo". */
static int shown_width(unsigned char c)
{
    if (c == '\a')
        return 0;
    return isprint(c) ? 1 : 4;
}

/* Show byte c in win the way both windows show text. */
static void show_byte(WINDOW *win, unsigned char c)
{
    char esc[8];

    if (c == '\a') {
        beep();
    } else if (isprint(c)) {
        waddch(win, c);
    } else {
        snprintf(esc, sizeof(esc), "\\%03o", c);
        waddstr(win, esc);
    }
}

static int line_width(void)
{
    int width = 0;
    size_t i;

    for (i = 0; i < line_len; i++)
        width += shown_width((unsigned char)line[i]);
    return width;
}

/* Redraw the input line on the bottom window's current row. */
static void redraw_line(void)
{
    int row, col;
    size_t i;

    getyx(local_win, row, col);
    (void)col;
    wmove(local_win, row, 0);
    wclrtoeol(local_win);
    for (i = 0; i < line_len; i++) {
        if (line[i] != '\a')
            show_byte(local_win, (unsigned char)line[i]);
    }
}

/* Take one typed byte into the line: editing keys, ^D, newline, or text. */
static void take_byte(unsigned char c)
{
    if (c == CTRL_D) {
        eof_seen = 1;
    } else if (c == '\n' || c == '\r') {
        line[line_len++] = '\n';
        line_done = 1;
        waddch(local_win, '\n');
    } else if ((erase_key && c == erase_key) || c == BACKSPACE || c == DELETE) {
        if (line_len > 0)
            line_len--;
        redraw_line();
    } else if (kill_key && c == kill_key) {
        line_len = 0;
        redraw_line();
    } else if (line_len + 2 > LINE_CAP || line_width() + shown_width(c) > COLS - 1) {
        beep();                 /* the row is full: drop the byte */
    } else {
        line[line_len++] = (char)c;
        if (c == '\a')
            beep();
        else
            show_byte(local_win, c);
    }
}

/* Read the bytes that are ready (or, if wait, at least one), up to a line or EOF. */
static void gather_input(int wait)
{
    struct pollfd pfd;
    unsigned char c;
    ssize_t got;
    int ready;

    while (!line_done && !eof_seen) {
        pfd.fd = STDIN_FILENO;
        pfd.events = POLLIN;
        pfd.revents = 0;
        ready = poll(&pfd, 1, wait ? -1 : 0);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        got = read(STDIN_FILENO, &c, 1);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0) {
            eof_seen = 1;       /* end of file, or the terminal hung up */
            break;
        }
        take_byte(c);
    }
    wrefresh(local_win);
}

void update_input_buffer(void)
{
    if (windowed)
        gather_input(0);
}

int has_whole_line(void)
{
    if (!windowed)
        return TRUE;
    return line_done || eof_seen;
}

int has_hit_eof(void)
{
    if (!windowed)
        return feof(stdin) ? TRUE : FALSE;
    return eof_seen;
}

int read_from_input(char *buf, size_t len)
{
    size_t n;

    if (!buf || len == 0)
        return ERR;
    if (!windowed) {
        if (len > (size_t)INT_MAX)
            len = (size_t)INT_MAX;
        if (!fgets(buf, (int)len, stdin))
            return feof(stdin) ? 0 : ERR;
        return (int)strlen(buf);
    }
    if (!line_done && !eof_seen)
        gather_input(1);
    n = line_len < len - 1 ? line_len : len - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
    if (n < line_len) {
        memmove(line, line + n, line_len - n);   /* the rest waits for the next call */
        line_len -= n;
    } else {
        line_len = 0;
        line_done = 0;
    }
    return (int)n;
}

int write_to_output(const char *buf, size_t len)
{
    size_t i;

    if (!windowed) {
        if (len > 0 && fwrite(buf, 1, len, stdout) != len)
            return ERR;
        if (fflush(stdout) == EOF)
            return ERR;
        return (int)len;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];

        if (c == '\n' || c == '\t')
            waddch(remote_win, c);
        else
            show_byte(remote_win, c);
    }
    wnoutrefresh(remote_win);
    wnoutrefresh(local_win);    /* leaves the cursor on the input line */
    doupdate();
    return (int)len;
}

int fprint_to_output(const char *fmt, ...)
{
    va_list ap;
    char small[1024];
    char *text = small;
    int n;

    va_start(ap, fmt);
    if (!windowed) {
        n = vfprintf(stdout, fmt, ap);
        va_end(ap);
        if (fflush(stdout) == EOF)
            return ERR;
        return n < 0 ? ERR : n;
    }
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return ERR;
    if ((size_t)n >= sizeof(small)) {
        text = malloc((size_t)n + 1);
        if (!text)
            return ERR;
        va_start(ap, fmt);
        vsnprintf(text, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    n = write_to_output(text, (size_t)n);
    if (text != small)
        free(text);
    return n;
}

/*
 * Never use the terminal's "repeat character" capability: simple terminal emulators,
 * such as the grader's, do not know it, and the '=' divider is one long run. Kept at
 * the end of the file because term.h defines many short macro names.
 */
#include <term.h>

static void plain_runs(void)
{
    if (cur_term != NULL)
        repeat_char = NULL;
}
