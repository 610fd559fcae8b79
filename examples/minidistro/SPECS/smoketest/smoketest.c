/* smoketest: a statically linked program that proves an image can run
 * binaries.  Prints one known line and exits 0.  Part of the shipyard
 * minidistro example. */
#include <stdio.h>

int main(void)
{
	if (puts("shipyard smoke test OK") < 0)
		return 1;
	return fflush(stdout) == 0 ? 0 : 1;
}
