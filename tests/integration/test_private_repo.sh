#!/bin/sh
# Private repositories: `shipyard serve` polls a repository that a local
# git server serves only to whoever sends the right credentials.
#  - HTTP: `git http-backend` behind Python's http.server with basic auth;
#    the token comes from repo.<name>.gittokenfile (user gituser), a wrong
#    token is refused with a message that does not hold it, and the token
#    appears in no log.
#  - SSH: Debian's sshd run by the test on a free port with a test host key
#    and a key pair made here (repo.<name>.sshkey, sshhostkey); a host key
#    other than sshhostkey is refused. Skipped where sshd is missing.
. "$(dirname "$0")/lib.sh"
need_root
command -v python3 >/dev/null || skip "needs python3 (http.server serves git http-backend)"
backend=$(git --exec-path)/git-http-backend
[ -x "$backend" ] || skip "git http-backend is missing"

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
token="tok-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$token" >"$T/token"
chmod 600 "$T/token"

# http.server's CGI handler behind basic auth (user bot, the token as
# password); every refused request is counted in auth.log.
cat >"$T/authserver.py" <<'EOF2'
import base64, http.server, sys
port, user, token, log = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read().strip(), sys.argv[4]
want = "Basic " + base64.b64encode(("%s:%s" % (user, token)).encode()).decode()
class Handler(http.server.CGIHTTPRequestHandler):
    def allowed(self):
        if self.headers.get("Authorization") == want:
            return True
        with open(log, "a") as f:
            f.write("refused %s\n" % ("with credentials" if self.headers.get("Authorization") else "without credentials"))
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False
    def do_GET(self):
        if self.allowed():
            super().do_GET()
    def do_POST(self):
        if self.allowed():
            super().do_POST()
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
EOF2

http_pid=""
sshd_pid=""
cleanup() {
	[ -z "$http_pid" ] || kill "$http_pid" 2>/dev/null || true
	serve_kill
	[ -z "$sshd_pid" ] || kill "$sshd_pid" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
for try in 1 2 3 4 5; do
	http_port=$((20000 + ($$ + try * 7919) % 20000))
	(cd "$T/www" && exec python3 "$T/authserver.py" "$http_port" bot "$T/token" "$T/auth.log") \
		>"$T/http.log" 2>&1 &
	http_pid=$!
	i=0
	while [ "$i" -lt 50 ] && ! curl -fs -o /dev/null -u "bot:$token" \
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
curl -s -o /dev/null -w '%{http_code}' "$url/info/refs?service=git-upload-pack" | grep -q 401 ||
	fail "the test server serves without credentials"

# serve_poll CONF: runs serve until the mirror of "mini" has main (0) or
# 15 seconds passed (1); stops it.
serve_poll() {
	: >"$T/serve.log"
	"$SHIPYARD" serve -c "$1" >>"$T/serve.log" 2>&1 &
	serve_pid=$!
	got=1
	i=0
	while [ "$i" -lt 150 ]; do
		if git --git-dir="$T/state/git/mini.git" rev-parse -q --verify refs/heads/main \
			>/dev/null 2>&1; then
			got=0
			break
		fi
		grep -q "refused the credentials\|none are set\|sshhostkey" "$T/serve.log" && break
		i=$((i + 1))
		sleep 0.1
	done
	serve_kill
	return $got
}

write_conf() { # EXTRA LINES for [repo "mini"]
	rm -rf "$T/state"
	cat >"$T/serve.conf" <<EOF2
[serve]
	listen = 127.0.0.1:0
	state = $T/state
	shutdowntimeout = 1
[repo "mini"]
	branch = main
	poll = 1
$1
EOF2
}

# Without credentials: refused, and said so.
write_conf "	remote = $url"
serve_poll "$T/serve.conf" && fail "fetched a private repository without credentials"
expect_line "$T/serve.log" "the remote asks for credentials and none are set"

# A wrong token: refused once (no loop), the token never shown.
printf 'wrong-%s\n' "$token" >"$T/wrong"
chmod 600 "$T/wrong"
: >"$T/auth.log"
write_conf "	remote = $url
	gituser = bot
	gittokenfile = $T/wrong"
serve_poll "$T/serve.conf" && fail "fetched with a wrong token"
expect_line "$T/serve.log" "the remote refused the credentials of gittokenfile"
expect_no_line "$T/serve.log" "wrong-"
[ "$(grep -c 'with credentials' "$T/auth.log")" -le 2 ] ||
	fail "the wrong token was sent again and again"

# The right token: fetched.
write_conf "	remote = $url
	gituser = bot
	gittokenfile = $T/token"
serve_poll "$T/serve.conf" || { cat "$T/serve.log"; fail "the private repository was not fetched"; }
[ "$(git --git-dir="$T/state/git/mini.git" rev-parse refs/heads/main)" = \
	"$(git -C "$T/work" rev-parse HEAD)" ] || fail "the mirror's main is not the repository's"
if grep -rq -- "$token" "$T/serve.log" "$T/state" 2>/dev/null; then
	fail "the token appears in a log or the state directory"
fi
kill "$http_pid"
http_pid=""

# SSH: sshd as the test's own process, on a free port, with its own keys.
sshd=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$sshd" ] || ! command -v ssh-keygen >/dev/null; then
	echo "SKIP (ssh part) needs openssh-server's sshd and ssh-keygen"
	echo ok
	exit 0
fi
mkdir -p "$T/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host" -C host
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/other" -C other
ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/client" -C client
chmod 600 "$T/ssh/client"
# The key may only run git's upload-pack (a deploy key's usual restriction).
printf 'restrict %s\n' "$(cat "$T/ssh/client.pub")" >"$T/ssh/authorized_keys"
chmod 600 "$T/ssh/authorized_keys"
hostkey=$(ssh-keygen -lf "$T/ssh/host.pub" | awk '{print $2}')
otherkey=$(ssh-keygen -lf "$T/ssh/other.pub" | awk '{print $2}')
for try in 1 2 3 4 5; do
	ssh_port=$((20000 + ($$ + try * 6007) % 20000))
	"$sshd" -D -e -p "$ssh_port" -h "$T/ssh/host" -o ListenAddress=127.0.0.1 \
		-o AuthorizedKeysFile="$T/ssh/authorized_keys" -o PasswordAuthentication=no \
		-o KbdInteractiveAuthentication=no -o UsePAM=no -o StrictModes=no \
		-o PermitRootLogin=prohibit-password -o PidFile=none >"$T/sshd.log" 2>&1 &
	sshd_pid=$!
	sleep 0.5
	kill -0 "$sshd_pid" 2>/dev/null && break
	sshd_pid=""
done
[ -n "$sshd_pid" ] || { cat "$T/sshd.log"; skip "sshd cannot run here"; }
sshurl="ssh://root@127.0.0.1:$ssh_port$T/www/repos/mini.git"

# A host key other than sshhostkey is refused.
write_conf "	remote = $sshurl
	sshkey = $T/ssh/client
	sshhostkey = $otherkey"
serve_poll "$T/serve.conf" && fail "fetched from a server whose host key is not sshhostkey"
expect_line "$T/serve.log" "host key SHA256:.* is not sshhostkey"

write_conf "	remote = $sshurl
	sshkey = $T/ssh/client
	sshhostkey = $hostkey"
serve_poll "$T/serve.conf" || { cat "$T/serve.log" "$T/sshd.log"; fail "not fetched over SSH"; }
[ "$(git --git-dir="$T/state/git/mini.git" rev-parse refs/heads/main)" = \
	"$(git -C "$T/work" rev-parse HEAD)" ] || fail "the SSH mirror's main is not the repository's"
echo ok
