#!/bin/sh
# The include graph follows the data flow (docs/design.md, "Directories"):
# a directory may include its own headers and those of the directories
# before it in the Makefile's STAGES, never a later one's. Prints every include that breaks
# the order and exits 1; prints nothing and exits 0 when there is none.
# Usage: scripts/check-includes.sh [DIR] (DIR: the repository, default .)
cd "${1:-.}" || exit 2
STAGES=$(sed -n 's/^STAGES := //p' Makefile)
[ -n "$STAGES" ] || { echo "check-includes: no STAGES in Makefile" >&2; exit 2; }

rank() { # rank DIR: the position of DIR in STAGES, or nothing
	i=0
	for s in $STAGES; do
		[ "$s" = "$1" ] && { echo "$i"; return; }
		i=$((i + 1))
	done
}

bad=0
for dir in $STAGES; do
	[ -d "$dir" ] || { echo "check-includes: no directory $dir" >&2; exit 2; }
	mine=$(rank "$dir")
	for f in "$dir"/*.c "$dir"/*.h; do
		[ -e "$f" ] || continue
		# Every project include is "<dir>/<file>.h" (or a bare name of
		# the same directory).
		grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
			sed 's/^\([0-9]*\):.*include[[:space:]]*"\([^"]*\)".*/\1 \2/' |
			while read -r line inc; do
				case $inc in
				*/*) other=${inc%%/*} ;;
				*) continue ;;
				esac
				theirs=$(rank "$other")
				if [ -z "$theirs" ]; then
					echo "$f:$line: includes $inc: $other/ is not a stage directory"
					echo x
				elif [ "$theirs" -gt "$mine" ]; then
					echo "$f:$line: includes $inc: $other/ comes after $dir/"
					echo x
				fi
			done
	done
done >"${TMPDIR:-/tmp}/check-includes.$$"
grep -v '^x$' "${TMPDIR:-/tmp}/check-includes.$$"
grep -q '^x$' "${TMPDIR:-/tmp}/check-includes.$$" && bad=1
rm -f "${TMPDIR:-/tmp}/check-includes.$$"
exit $bad
