#!/usr/bin/env bash
# keepalive=SECS: an idle connection sends keepalives (an SFTP FSTAT of
# the open file, seen in the debug output) and still works afterwards;
# keepalive=0 sends none.  keepalive-count=N (ssh_config's
# ServerAliveCountMax): a server that answers every keepalive stays
# alive even with N=1; a stalled sftp-server (SIGSTOPped while the
# client idles, its sshd still answering) is declared dead after N
# unanswered keepalives and the next request reconnects with the right
# data; with keepalive-count=0 a stalled connection (sshd stopped too)
# is kept and works again once the server resumes.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto): this test finds a
# connection's sftp-server, or counts sessions.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
make_random_file disk.img 1

run_plugin -v -D ssh.log=1 \
    path="$SSHD_DIR/disk.img" keepalive=2 keepalive-count=1 \
    --run '/usr/bin/python3 "$srcdir/test-keepalive-idle.py" "$uri"' 2> on.log
n="$(grep -c "keepalive sent to 127.0.0.1 port $SSHD_PORT (SFTP FSTAT;" on.log || :)"
echo "keepalives sent: $n"
[ "$n" -ge 2 ] || { echo "FAIL: expected >= 2 keepalives in 5.5 s idle"; exit 1; }
# Every keepalive was answered: never declared dead.
if grep -E "is dead|reconnected" on.log; then
    echo "FAIL: a server that answers was declared dead"; exit 1
fi

run_plugin -v -D ssh.log=1 \
    path="$SSHD_DIR/disk.img" keepalive=0 \
    --run '/usr/bin/python3 "$srcdir/test-keepalive-idle.py" "$uri"' 2> off.log
if grep "keepalive sent" off.log; then
    echo "FAIL: keepalive=0 sent keepalives"; exit 1
fi

# A stalled server while idle.

printf 'Host *\n  ServerAliveInterval 1\n  ServerAliveCountMax 2\n' > alive.conf
LOG="$PWD/dead.log" run_plugin -v -D ssh.log=1 \
    path="$SSHD_DIR/disk.img" config="$PWD/alive.conf" \
    --run '/usr/bin/python3 "$srcdir/test-keepalive-stalled.py" "$uri" dead' \
    2> dead.log
expect_grep dead.log "the server sent nothing in reply to 2 keepalives" \
    "keepalive=1, keepalive-count=2" "reconnected to 127.0.0.1"

LOG="$PWD/kept.log" run_plugin -v -D ssh.log=1 \
    path="$SSHD_DIR/disk.img" keepalive=1 keepalive-count=0 \
    --run '/usr/bin/python3 "$srcdir/test-keepalive-stalled.py" "$uri" kept' \
    2> kept.log
if grep -E "is dead|reconnected" kept.log; then
    echo "FAIL: keepalive-count=0 gave up on the server"; exit 1
fi
n="$(grep -c "keepalive sent" kept.log || :)"
[ "$n" -ge 3 ] || { echo "FAIL: expected >= 3 keepalives while stalled"; exit 1; }

# Bad values are refused.
run_plugin_fail bad.log \
    path="$SSHD_DIR/disk.img" keepalive=abc --run true
expect_grep bad.log "keepalive=abc"
run_plugin_fail bad.log \
    path="$SSHD_DIR/disk.img" retries=-1 --run true
expect_grep bad.log "retries=-1"
run_plugin_fail bad.log \
    path="$SSHD_DIR/disk.img" keepalive-count=x --run true
expect_grep bad.log "keepalive-count=x"
