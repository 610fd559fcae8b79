#!/bin/sh
# make-man.sh TEMPLATE OUT [TOP]: makes the man page OUT (roff) from
# TEMPLATE (docs/man/<page>.md), whose first line is the page's title
# ("% NAME SECTION TITLE") and whose other lines are Markdown with two
# directives that pull in the documentation, so that the page says what the
# docs say:
#   @section FILE /REGEX/ [|| FILE /REGEX/ ...] [body]
#       the first section of FILE (relative to TOP, default the source tree)
#       whose heading matches REGEX (awk, case-insensitive), with its
#       subsections, up to the next heading of the same or a higher level
#       ("body": up to the next heading of any level); alternatives are
#       tried in order and a missing FILE is skipped, so a page can prefer a
#       file that may not exist yet and fall back on one that does. The
#       section's own heading is left out and its subsections become
#       "###" (man .SS). No alternative found is an error.
#   @file FILE
#       FILE verbatim, as an indented code block (an example configuration).
# The Markdown is turned into roff by go-md2man; the .TH line is ours (its
# title block syntax differs between versions).
set -eu
template=$1
out=$2
TOP=${3:-$(cd "$(dirname "$0")/.." && pwd)}
command -v go-md2man >/dev/null || { echo "make-man.sh: needs go-md2man (scripts/deps.sh)" >&2; exit 1; }

# section FILE REGEX MODE: prints the section, or fails.
section() {
	awk -v re="$2" -v mode="$3" '
		/^```/ { fence = !fence }
		!fence && /^#+ / {
			n = match($0, /^#+/); level = RLENGTH
			title = substr($0, level + 2)
			if (!found && tolower(title) ~ tolower(re)) {
				found = 1; base = level; inside = 1; next
			}
			if (inside && (level <= base || mode == "body")) { inside = 0; exit }
			if (inside) {
				depth = level - base
				print substr("######", 1, depth + 2) " " title
				next
			}
		}
		inside { print }
		END { exit found ? 0 : 1 }
	' "$TOP/$1"
}

# include LINE: expands one @section directive.
include_section() {
	mode=all
	case $1 in *" body") mode=body ;; esac
	rest=${1#@section }
	rest=${rest% body}
	while [ -n "$rest" ]; do
		alt=${rest%%" || "*}
		case $rest in *" || "*) rest=${rest#*" || "} ;; *) rest="" ;; esac
		file=${alt%% *}
		re=${alt#* }
		re=${re#/}
		re=${re%/}
		if [ -f "$TOP/$file" ] && section "$file" "$re" "$mode"; then
			return 0
		fi
	done
	echo "make-man.sh: $template: no section for '$1'" >&2
	return 1
}

tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.md"' EXIT
set -- $(sed -n '1s/^% *//p' "$template")
name=$1
num=$2
shift 2
date=$(git -C "$TOP" log -1 --format=%cd --date=format:'%B %Y' -- 2>/dev/null || date -u +'%B %Y')
tail -n +2 "$template" | while IFS= read -r line; do
	case $line in
	"@section "*) include_section "$line" ;;
	"@file "*) echo; sed 's/^/    /' "$TOP/${line#@file }"; echo ;;
	*) printf '%s\n' "$line" ;;
	esac
done >"$tmp.md"
{
	printf '.TH "%s" "%s" "%s" "shipyard" "%s"\n' "$(echo "$name" | tr a-z A-Z)" "$num" "$date" "$*"
	# A text line that starts with "." or "'" (a wrapped "...") would be a
	# request: \& makes it text.
	# A heading is one quoted argument, its own quotes \(dq: go-md2man
	# leaves them bare, and roff would split the heading at them.
	go-md2man -in "$tmp.md" | sed -e '/^\.TH/d' -e "s/^\([.'][^A-Za-z]\)/\\\\\&\1/" \
		-e '/^\.S[HS] /{s/"/\\(dq/g; s/^\(\.S[HS]\) \(.*\)$/\1 "\2"/;}'
} >"$out"
