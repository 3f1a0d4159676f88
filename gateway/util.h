/* Small things every module may need. */
#ifndef GATEWAY_UTIL_H
#define GATEWAY_UTIL_H

#include <stddef.h>

/* The struct that holds a libuv handle, from a pointer to the handle. */
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif
