/*
 * talk.h: the interface of the talk library that mytalk links with (-ltalk -lncurses).
 *
 * This is the grader's own implementation of the course library's interface, written
 * from the assignment's description. Without windowing it behaves like plain stdio;
 * with windowing (start_windowing() with stdin and stdout both ttys) it splits the
 * screen into remote text above a line of '=' and local input below.
 */
#ifndef TALK_H
#define TALK_H

#include <stddef.h>
#include <stdio.h>             /* harmless, and kind to handins that forget it */

/* Programs use these; curses.h defines them the same way. */
#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#ifndef ERR
#define ERR (-1)
#endif

/* Turn windowing on, but only if stdin and stdout are both ttys. */
void start_windowing(void);

/* Turn windowing off (restore the terminal) if it is on. */
void stop_windowing(void);

/* Without blocking, read pending input into the line buffer, up to a newline or EOF. */
void update_input_buffer(void);

/* TRUE when a whole line, or a partial line ended by EOF, is ready to read. */
int has_whole_line(void);

/* TRUE once end of file has been seen on the input. */
int has_hit_eof(void);

/* Copy the next line (at most len-1 bytes, NUL-terminated) into buf and return its
 * length; 0 at end of file, ERR on error. */
int read_from_input(char *buf, size_t len);

/* Show len bytes of remote text; returns len or ERR. */
int write_to_output(const char *buf, size_t len);

/* printf-style write_to_output; returns the number of characters shown or ERR. */
int fprint_to_output(const char *fmt, ...);

/* Set how much the library reports on stderr; returns the previous level. */
int set_verbosity(int level);

#endif
