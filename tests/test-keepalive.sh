#!/usr/bin/env bash
# keepalive=SECS: an idle connection sends SSH keepalives (seen in the
# debug output and by the server) and still works afterwards;
# keepalive=0 sends none.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires /usr/bin/python3
requires_run "python3 libnbd bindings" /usr/bin/python3 -c 'import nbd'
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 1

cat > idle.py <<'PYEOF'
import sys, time
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
a = h.pread(4096, 0)
time.sleep(3.5)
if h.pread(4096, 0) != a:
    sys.exit("FAIL: read after idling differs")
PYEOF

run_nbdkit -v -D ssh.log=1 -U - "$PLUGIN" "${SSH_ARGS[@]}" \
    path="$SSHD_DIR/disk.img" keepalive=1 \
    --run '/usr/bin/python3 idle.py "$uri"' 2> on.log
n="$(grep -c "keepalive sent" on.log || :)"
echo "keepalives sent: $n"
[ "$n" -ge 2 ] || { echo "FAIL: expected >= 2 keepalives in 3.5 s idle"; exit 1; }
# The server saw them (sshd logs each global request at debug level;
# libssh2 names them keepalive@libssh2.org).
grep -q "rtype keepalive@" "$SSHD_LOG"

run_nbdkit -v -D ssh.log=1 -U - "$PLUGIN" "${SSH_ARGS[@]}" \
    path="$SSHD_DIR/disk.img" keepalive=0 \
    --run '/usr/bin/python3 idle.py "$uri"' 2> off.log
if grep "keepalive sent" off.log; then
    echo "FAIL: keepalive=0 sent keepalives"; exit 1
fi

# Bad values are refused.
run_nbdkit_fail bad.log -U - "$PLUGIN" "${SSH_ARGS[@]}" \
    path="$SSHD_DIR/disk.img" keepalive=abc --run true
expect_grep bad.log "keepalive=abc"
run_nbdkit_fail bad.log -U - "$PLUGIN" "${SSH_ARGS[@]}" \
    path="$SSHD_DIR/disk.img" retries=-1 --run true
expect_grep bad.log "retries=-1"
