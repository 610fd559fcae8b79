/* Failpoints for tests of crash safety: a process whose $SHIPYARD_FAILPOINT
 * names a point kills itself with SIGKILL when it reaches that point, as a
 * crash or an operator's kill -9 would at that moment. Nothing sets the
 * variable outside tests; unset, a failpoint costs one getenv. */
#ifndef SY_FAILPOINT_H
#define SY_FAILPOINT_H

/* Kills the process (SIGKILL, no cleanup, nothing flushed) when
 * $SHIPYARD_FAILPOINT equals name; else returns. */
void sy_failpoint(const char *name);

#endif
