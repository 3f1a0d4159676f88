/* The one error a config is refused with: "FILE:LINE: message", the one
 * on the earliest line. Every part that builds a config reports to it. */
#ifndef GATEWAY_CONFIG_ERROR_H
#define GATEWAY_CONFIG_ERROR_H

#include <stdarg.h>
#include <stddef.h>

struct config_error {
	const char *path;               /* the config file, as messages name it */
	int line;                       /* of the error kept; 0: none yet */
	char *buf;                      /* the caller's */
	size_t len;
};

/* Keeps the error unless one on this line or an earlier one is kept:
 * inih goes on after an error, later ones are often its consequences,
 * and inih reports its own syntax errors only once the whole file is
 * read. */
void config_fail(struct config_error *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void config_vfail(struct config_error *e, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
