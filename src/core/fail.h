/*
 * fail.h: the start-up error line of the server and of formworkctl, in
 * the manner of err(3): "<program>: <what is wrong>" on standard error,
 * one line, the only thing the operator needs to fix it (the
 * integration tests read it too). Not for a running server: the workers
 * log with kore_log().
 */

#ifndef FORMWORK_FAIL_H
#define FORMWORK_FAIL_H

/* The program the lines start with: "formwork" unless set. */
void	fail_name_set(const char *);

/* Prints the line; returns 1, the exit status for "failed". */
int	fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* Prints the line and exits with status 1: start-up cannot go on. */
void	fail_exit(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
