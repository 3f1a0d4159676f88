/* readcgi: a CGI program that reads its request body (CONTENT_LENGTH
 * bytes of stdin), then answers hello; for make bench's POST runs. */
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	static const char m[] = "Content-Type: text/plain\r\n\r\nhello\n";
	const char *cl = getenv("CONTENT_LENGTH");
	long left = cl ? atol(cl) : 0;
	char buf[65536];

	while (left > 0) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n <= 0)
			return 1;
		left -= n;
	}
	return write(1, m, sizeof m - 1) == (ssize_t)(sizeof m - 1) ? 0 : 1;
}
