#!/bin/sh
# The crash torture (tests/torture/torture.sh) with three rounds, so that
# every `make check` kills the service at a few random points and checks
# what must survive it; `make torture` runs fifty. A failure prints its
# seed: TORTURE_SEED=<seed> tests/torture/torture.sh 3 repeats its choices.
exec "$(dirname "$0")/../torture/torture.sh" 3
