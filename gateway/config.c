/* Loading a config and its lifetime: the text from the file (or from the
 * main process's memfd, in a worker), read (config_read.c) and checked
 * (config_check.c) into a config, which lives while the server or a
 * child of it holds it. */
#include "config.h"
#include "config_check.h"
#include "config_error.h"
#include "config_read.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A config with the defaults of [gateway], no routes yet. */
static struct config *config_new(const char *path, const char *text, size_t len)
{
	struct config *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->refs = 1;
	c->path = strdup(path);
	c->dir = path_dir(path);
	c->max_children = 1024;
	c->shutdown_grace = 10;
	c->kill_grace = 2;
	c->workers = 1;
	c->metrics_mode = 0600;
	c->control_mode = 0600;
	c->text = malloc(len + 1);
	if (c->text) {
		memcpy(c->text, text, len);
		c->text[len] = '\0';
		c->textlen = len;
	}
	return c;
}

static struct config *parse(const char *path, const char *text, size_t len,
    int checked, char *err, size_t errlen)
{
	struct config_error e = { .path = path, .buf = err, .len = errlen };
	struct config *c = config_new(path, text, len);
	int lines;

	if (!c) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return NULL;
	}
	lines = config_read(c, text, len, &e);
	if (!e.line)
		config_check(c, lines, checked, &e);
	if (e.line) {
		config_free(c);
		return NULL;
	}
	return c;
}

struct config *config_parse(const char *path, const char *text, size_t len,
    char *err, size_t errlen)
{
	return parse(path, text, len, 0, err, errlen);
}

struct config *config_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0;
	struct config *c;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (len == cap) {
			char *grown = cap > (16u << 20) ? NULL :
			    realloc(text, cap = cap ? 2 * cap : 4096);
			if (!grown) {
				snprintf(err, errlen, "%s: file too large", path);
				free(text);
				fclose(f);
				return NULL;
			}
			text = grown;
		}
		size_t n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(text);
		fclose(f);
		return NULL;
	}
	fclose(f);
	c = config_parse(path, text, len, err, errlen);
	free(text);
	return c;
}

struct config *config_from_fd(const char *path, int fd)
{
	struct stat st;
	char *text, err[1024];
	struct config *c = NULL;

	if (fstat(fd, &st) < 0 || !(text = malloc((size_t)st.st_size + 1))) {
		log_warn("config from the main process");
		return NULL;
	}
	if (pread(fd, text, (size_t)st.st_size, 0) != st.st_size)
		log_warnx("config from the main process: short read");
	else if (!(c = parse(path, text, (size_t)st.st_size, 1, err, sizeof err)))
		log_warnx("config from the main process: %s", err);
	free(text);
	return c;
}

static void route_free(struct route *r)
{
	free(r->name);
	free(r->listen);
	free(r->exec);
	free(r->exec_arg0);
	free(r->exec_dir);
	strv_free(&r->argv);
	free(r->cwd);
	strv_free(&r->env);
	strv_free(&r->pass_env);
	free(r->busy_message);
	acl_free(&r->allow);
	acl_free(&r->deny);
	free(r->user);
	free(r->group);
	free(r->groups);
	free(r->path);
	acl_free(&r->proxy_from);
	free(r->socket_user);
	free(r->socket_group);
}

void config_hold(struct config *c)
{
	c->refs++;
}

void config_release(struct config *c)
{
	if (c && --c->refs == 0)
		config_free(c);
}

void config_free(struct config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nroutes; i++)
		route_free(&c->routes[i]);
	free(c->routes);
	free(c->text);
	free(c->path);
	free(c->dir);
	free(c);
}
