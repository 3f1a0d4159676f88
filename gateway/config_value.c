/* The syntax of config values the keys share (config_value.h). */
#include "config_value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int value_number(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end == v || *end || errno || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

int value_seconds(const char *v, double *out)
{
	char *end;
	double d;

	/* Decimal seconds only: strtod would take hex and exponents. */
	if (!*v || strspn(v, "0123456789.") != strlen(v))
		return -1;
	d = strtod(v, &end);
	if (*end || !isfinite(d) || d < 0 || d > 1e6)
		return -1;
	*out = d;
	return 0;
}

int value_octal(const char *v, int *out)
{
	char *end;
	long n;

	if (!*v || strspn(v, "01234567") != strlen(v))
		return -1;
	n = strtol(v, &end, 8);
	if (n > 07777)
		return -1;
	*out = (int)n;
	return 0;
}

int value_rlim(const char *v, rlim_t *out)
{
	unsigned long long n, mult = 1;
	char *end;

	if (strcmp(v, "unlimited") == 0 || strcmp(v, "infinity") == 0) {
		*out = RLIM_INFINITY;
		return 0;
	}
	if (!isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno)
		return -1;
	if (*end && !end[1] && strchr("kKmMgG", *end))
		mult = *end == 'k' || *end == 'K' ? 1ull << 10 :
		    *end == 'm' || *end == 'M' ? 1ull << 20 : 1ull << 30;
	else if (*end)
		return -1;
	if (n > (unsigned long long)RLIM_INFINITY / mult)
		return -1;
	*out = (rlim_t)(n * mult);
	return 0;
}

char *value_path(const char *dir, const char *path)
{
	size_t n = strlen(dir) + strlen(path) + 2;
	char *in = malloc(n), *out = malloc(n), *seg, *save = NULL;
	size_t o = 0;

	if (!in || !out) {
		free(in);
		free(out);
		return NULL;
	}
	if (path[0] == '/')
		snprintf(in, n, "%s", path);
	else
		snprintf(in, n, "%s/%s", dir, path);
	for (seg = strtok_r(in, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, seg, strlen(seg));
		o += strlen(seg);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(in);
	return out;
}

int value_env_name(const char *s, size_t n)
{
	if (n == 0 || isdigit((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static const char *const reserved_env[] = {
	"PROTO", "TCPREMOTEIP", "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT",
	"TCPREMOTEHOST", "TCPLOCALHOST", "TCPREMOTEINFO",
	"REMOTE_ADDR", "REMOTE_PORT", "SERVER_ADDR", "SERVER_PORT",
	"IPCLOCALPATH", "IPCREMOTEEUID", "IPCREMOTEEGID", "IPCREMOTEPID",
	"GATEWAY_ROUTE", "GATEWAY_CONN",
	"GATEWAY_INTERFACE", "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO",
	"SCRIPT_FILENAME",
	"PATH_TRANSLATED", "QUERY_STRING", "CONTENT_LENGTH", "CONTENT_TYPE",
	"SERVER_PROTOCOL", "REQUEST_URI", "REMOTE_HOST", "REMOTE_USER",
	"REMOTE_IDENT", "AUTH_TYPE", "HTTPS",
	"SSL_TLS_SNI", "SSL_ALPN_PROTOCOL", "UNIQUE_ID",
};

int config_env_reserved(const char *name, size_t len)
{
	if (len >= 5 && strncmp(name, "HTTP_", 5) == 0)
		return 1;
	for (size_t i = 0; i < sizeof reserved_env / sizeof *reserved_env; i++)
		if (strlen(reserved_env[i]) == len &&
		    strncmp(reserved_env[i], name, len) == 0)
			return 1;
	return 0;
}
