#!/bin/sh
# Polling over smart HTTP: a repository served by `git http-backend` (CGI,
# through Python's http.server) with no webhook is fetched every second by
# `shipyard serve` (libgit2); its branch head is built and published, and a
# commit pushed later is found and built too.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null || skip "needs jq"
command -v curl >/dev/null || skip "needs curl"
command -v python3 >/dev/null || skip "needs python3 (http.server serves git http-backend)"
backend=$(git --exec-path)/git-http-backend
[ -x "$backend" ] || skip "git http-backend is missing"

# http.server runs CGI scripts as nobody when started as root: the
# repositories must be readable, and git must trust their owner.
chmod 755 "$T"
mkdir -p "$T/www/cgi-bin" "$T/www/repos"
cat >"$T/www/cgi-bin/git" <<EOF2
#!/bin/sh
export GIT_PROJECT_ROOT=$T/www/repos GIT_HTTP_EXPORT_ALL=1
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
exec "$backend"
EOF2
chmod 755 "$T/www/cgi-bin/git"
minidistro "$T/work"
git_ clone -q --bare "$T/work" "$T/www/repos/mini.git"
chmod -R a+rX "$T/www"

# A free port for the HTTP server (it takes no port 0 and tells).
http_pid=""
cleanup() {
	[ -z "$http_pid" ] || kill "$http_pid" 2>/dev/null || true
	serve_kill
	rm -rf "$T"
}
trap cleanup EXIT
for try in 1 2 3 4 5; do
	http_port=$((20000 + ($$ + try * 7919) % 20000))
	(cd "$T/www" && exec python3 -m http.server --cgi --bind 127.0.0.1 "$http_port") \
		>"$T/http.log" 2>&1 &
	http_pid=$!
	i=0
	while [ "$i" -lt 50 ] && ! curl -fs -o /dev/null \
		"http://127.0.0.1:$http_port/cgi-bin/git/mini.git/info/refs?service=git-upload-pack"; do
		i=$((i + 1))
		sleep 0.1
	done
	[ "$i" -lt 50 ] && break
	kill "$http_pid" 2>/dev/null || true
	http_pid=""
done
[ -n "$http_pid" ] || { cat "$T/http.log"; fail "the git HTTP server did not start"; }
url=http://127.0.0.1:$http_port/cgi-bin/git/mini.git

state=$T/state
cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $state
[repo "mini"]
	remote = $url
	branch = main
	poll = 1
EOF2
serve_start "$T/serve.conf"

poll_pipeline() { # HEAD: waits for a successful poll pipeline of HEAD
	i=0
	until id=$(curl -fs "$base/api/pipelines" | jq -r --arg h "$1" '.pipelines[]
		| select(.trigger == "poll" and .head == $h and .state == "success") | .id' |
		head -n 1) && [ -n "$id" ]; do
		i=$((i + 1))
		[ "$i" -lt 900 ] || { tail -n 20 "$T/serve.log"; fail "no successful poll pipeline for $1"; }
		sleep 0.1
	done
}
poll_pipeline "$(git -C "$T/work" rev-parse HEAD)"
[ -f "$state/repos/main/current/repodata/repomd.xml" ] || fail "main was not published"

sed -i 's|^Release:.*|Release:        3%{?dist}|' "$T/work/SPECS/hello/hello.spec"
git_ -C "$T/work" commit -q -am "hello: release 3"
git_ -C "$T/work" push -q "$T/www/repos/mini.git" main
poll_pipeline "$(git -C "$T/work" rev-parse HEAD)"
ls "$state"/repos/main/current/RPMS/*/hello-1.0-3.* >/dev/null 2>&1 ||
	ls -R "$state/repos/main/current" | grep -q 'hello-.*-3\.' ||
	fail "the polled commit's hello was not published"
grep -q 'GET /cgi-bin/git/mini.git/info/refs?service=git-upload-pack' "$T/http.log" ||
	fail "the repository was not fetched over HTTP"

serve_stop
[ "$serve_rc" -eq 0 ] || { tail -n 20 "$T/serve.log"; fail "serve exited $serve_rc on SIGTERM"; }
echo ok
