/* libFuzzer harness for the config parser: any text, as if it were
 * the file /tmp/fuzz/gateway.ini, must give a config or an error
 * message, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct config *c;

	err[0] = '\0';
	c = config_parse("/tmp/fuzz/gateway.ini", (const char *)data, size,
	    err, sizeof err);
	if (c)
		config_free(c);
	else if (memchr(err, '\0', sizeof err) == NULL || err[0] == '\0')
		abort();                /* an error must say what it is */
	return 0;
}
