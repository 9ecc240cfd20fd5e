#!/usr/bin/env bash
# Write-behind: writes still in flight (acknowledged to the client, not
# yet by the server) when the connection breaks are sent again on the
# new session.
#
# 1. The connection is cut in the middle of a write-behind upload
#    (nbdcopy without --flush, through tests/fault-proxy): nbdcopy
#    succeeds and the file matches.
# 2. The server side is killed between writes that are still in the
#    window (test-write-behind-resend-kill.py): sent again after the
#    reconnect, the data verifies.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdcopy cmp
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

MiB=$(( 1024 * 1024 ))
remote="$SSHD_DIR/disk.img"

# --- 1. Cut in the middle of an upload, nbdcopy without --flush.
make_random_file "$remote" 64
make_random_file in.img 64
start_fault_proxy cut.log -m cut -n $(( 20 * MiB ))
run_nbdkit -v -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" \
    --run 'nbdcopy --connections=1 in.img "$uri"' 2> nbdkit.err || {
    cat nbdkit.err cut.log; exit 1; }
cat nbdkit.err cut.log
cmp in.img "$remote"
expect_grep cut.log "conn 1: cut after $(( 20 * MiB )) bytes" "conn 2: accepted"
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)"
stop_fault_proxy

# --- 2. The server side killed between writes still in the window.
make_random_file "$remote" 32
export REMOTE="$remote"
run_plugin -v path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-write-behind-resend-kill.py" "$uri"' \
    2> nbdkit.err || { tail -100 nbdkit.err; exit 1; }
grep -E "reconnect|sending again|error" nbdkit.err
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)"
grep -E "sending again [1-9][0-9]* writes the server had not acknowledged" \
     nbdkit.err || {
    echo "FAIL: no write in flight was sent again after a reconnect"; exit 1; }
