/* Shared by the unit tests of config keys: a config that must be taken,
 * and one that must be refused with exactly "FILE:LINE: message". Each
 * test file includes it once, after unit.h. */
#ifndef T_UNIT_CONFIG_UNIT_H
#define T_UNIT_CONFIG_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define PATH "/etc/gw/gateway.ini"
#define ROUTE "[r]\nlisten = 127.0.0.1:8000\nexec = /bin/cat\n"  /* lines 1-3 */

static char err[1024];

static struct config *ok(const char *text)
{
	struct config *c;

	err[0] = '\0';
	c = config_parse(PATH, text, strlen(text), err, sizeof err);
	ck_assert_msg(c != NULL, "config refused: %s\n---\n%s---", err, text);
	return c;
}

static void fails(const char *text, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fails(const char *text, int line, const char *fmt, ...)
{
	char want[1024], msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(want, sizeof want, "%s:%d: %s", PATH, line, msg);
	ck_assert_msg(config_parse(PATH, text, strlen(text), err, sizeof err) == NULL,
	    "config accepted, wanted '%s'", want);
	ck_assert_str_eq(err, want);
}

#endif
