/* libFuzzer harness for the upgrade's handover text (handover_parse):
 * whatever the bytes, the parse reads only what came and frees all it
 * made. */
#include <stddef.h>
#include <stdint.h>

#include "handover_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct handover h;
	char err[128];

	handover_parse((const char *)data, size, &h, err, sizeof err);
	handover_free(&h);
	return 0;
}
