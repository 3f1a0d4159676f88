/* libFuzzer harness for what the metrics endpoint reads: a request
 * line (metrics_http_page), and records a worker sends the main process
 * (metrics_merge), which must never read past what came, and whose
 * figures must still make an exposition. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics m = { 0 };
	struct metrics_gauges g = { 0 };
	char *copy = malloc(size ? size : 1), *out;
	size_t len;
	int head_only;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	metrics_http_page(copy, size, &head_only);
	metrics_merge(&m, copy, size);
	if (metrics_text(&m, &g, &out, &len) == 0)
		free(out);
	metrics_free(&m);
	free(copy);
	return 0;
}
