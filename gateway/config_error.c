/* The one error a config is refused with (config_error.h). */
#include "config_error.h"

#include <stdio.h>

void config_vfail(struct config_error *e, int line, const char *fmt, va_list ap)
{
	int n;

	if (e->line && e->line <= line)
		return;
	e->line = line;
	n = snprintf(e->buf, e->len, "%s:%d: ", e->path, line);
	if (n < 0 || (size_t)n >= e->len)
		return;
	vsnprintf(e->buf + n, e->len - n, fmt, ap);
}

void config_fail(struct config_error *e, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_vfail(e, line, fmt, ap);
	va_end(ap);
}
