/* The syntax of config values the keys share: numbers, seconds, octal
 * modes, resource limits, paths, variable names. Each returns 0, or -1
 * for a value it does not take; the key says what was wrong. */
#ifndef GATEWAY_CONFIG_VALUE_H
#define GATEWAY_CONFIG_VALUE_H

#include <stddef.h>
#include <sys/resource.h>

/* Decimal, from min to max. */
int value_number(const char *v, long min, long max, long *out);

/* Decimal seconds, from 0 to 1e6. */
int value_seconds(const char *v, double *out);

/* Octal, at most 07777. */
int value_octal(const char *v, int *out);

/* One resource limit: "unlimited", or a number with an optional k, m or
 * g (1024-based). */
int value_rlim(const char *v, rlim_t *out);

/* dir joined with a relative path, "." and ".." segments removed
 * lexically (symlinks are left to the kernel); malloc'd, NULL on ENOMEM. */
char *value_path(const char *dir, const char *path);

/* Whether the n bytes at s are a variable name: [A-Za-z_][A-Za-z0-9_]*. */
int value_env_name(const char *s, size_t n);

/* Whether NAME is a variable the gateway sets per connection and that
 * env/pass_env may therefore not name. */
int config_env_reserved(const char *name, size_t len);

#endif
