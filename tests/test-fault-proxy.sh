#!/usr/bin/env bash
# Network faults between the plugin and sshd, made by tests/fault-proxy
# (a TCP proxy that misbehaves on its first connection only, so that
# the plugin's reconnects get through):
#
# 1. the connection is reset in the middle of an nbdcopy download, and
#    of an upload: both complete (reconnect) and the data is identical;
# 2. the connection stalls (no byte forwarded for 10 s) with timeout=3:
#    the read completes through a reconnect, after at least timeout=
#    and well before the stall ends; with retries=0 it fails with EIO
#    instead, within the same bounds;
# 3. a slow link (2 MiB/s) with timeout=4: one 12 MiB read takes about
#    6 s, longer than timeout=, but makes progress all along, so it
#    succeeds without a timeout or a reconnect.

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
make_random_file "$remote" 64

# --- 1. Connection reset mid-copy, download then upload.
start_fault_proxy cut1.log -m cut -n $(( 16 * MiB ))
# (-v: a reconnect that works is a debug line, not an error.)
run_nbdkit -v -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" \
    --run 'nbdcopy --connections=1 "$uri" out.img' 2> nbdkit.err || {
    cat nbdkit.err cut1.log; exit 1; }
cat nbdkit.err cut1.log
cmp "$remote" out.img
expect_grep cut1.log "conn 1: cut after $(( 16 * MiB )) bytes" "conn 2: accepted"
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)"
expect_no_error nbdkit.err

# The upload goes on after the reconnect and every byte arrives, but
# the writes acknowledged on the cut session were never fsynced: the
# final flush says so (EIO) instead of claiming they are on disk, and
# nbdcopy fails.  (A new connection then flushes without complaint.)
make_random_file in.img 64
start_fault_proxy cut2.log -m cut -n $(( 16 * MiB ))
if run_nbdkit -v -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" \
       --run 'nbdcopy --connections=1 --flush in.img "$uri"' 2> nbdkit.err
then
    cat nbdkit.err cut2.log
    echo "FAIL: the flush after a cut claimed unflushed writes were durable"
    exit 1
fi
cat nbdkit.err cut2.log
cmp in.img "$remote"
expect_grep cut2.log "conn 1: cut after $(( 16 * MiB )) bytes" "conn 2: accepted"
expect_grep nbdkit.err "reconnecting (attempt 1 of 3)" \
    "never fsynced and may be lost"
run_nbdkit -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" \
    --run 'nbdsh -u "$uri" -c "h.flush()"'

# --- 2. Stall with timeout=3.
export REMOTE="$remote"

start_fault_proxy stall1.log -m stall -n $(( 8 * MiB )) -s 10
run_nbdkit -v -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" timeout=3 \
    --run '/usr/bin/python3 "$srcdir/test-fault-proxy-stall.py" "$uri" ok' \
    2> nbdkit.err || {
    cat nbdkit.err stall1.log; exit 1; }
cat nbdkit.err stall1.log
expect_grep stall1.log "conn 1: stall after" "conn 2: accepted"
expect_grep nbdkit.err "timed out after 3 seconds" "reconnecting (attempt 1 of 3)"
expect_no_error nbdkit.err

start_fault_proxy stall2.log -m stall -n $(( 8 * MiB )) -s 10
run_nbdkit -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" timeout=3 \
    retries=0 \
    --run '/usr/bin/python3 "$srcdir/test-fault-proxy-stall.py" "$uri" EIO' \
    2> nbdkit.err || {
    cat nbdkit.err stall2.log; exit 1; }
cat nbdkit.err stall2.log
expect_grep nbdkit.err "timed out after 3 seconds"
if grep -F "reconnecting" nbdkit.err; then
    echo "FAIL: retries=0 reconnected"; exit 1
fi

# --- 3. A slow link: slower than timeout= per request, never idle.
start_fault_proxy slow.log -m slow -r $(( 2 * MiB ))
run_nbdkit -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" timeout=4 \
    --run '/usr/bin/python3 "$srcdir/test-fault-proxy-slow.py" "$uri"' \
    2> nbdkit.err || {
    cat nbdkit.err slow.log; exit 1; }
cat nbdkit.err slow.log
if grep -E "timed out|reconnecting" nbdkit.err; then
    echo "FAIL: a slow but moving link timed out"; exit 1
fi
