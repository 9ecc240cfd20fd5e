#!/usr/bin/env bash
# The server stalls (its processes are SIGSTOPped, so the TCP
# connection stays up but nothing answers) while a read or a write is
# in flight.
#
# 1. timeout=5 retries=1, the listening sshd stopped too (so that the
#    reconnect cannot get past the SSH banner): the request fails with
#    EIO, after at least the timeout and within 30 s; once the server
#    is resumed, the next request on the SAME NBD connection reconnects
#    and returns the right data.
# 2. timeout=5 and the default retries, only the per-connection
#    processes stopped: the request succeeds after reconnecting (about
#    timeout= seconds) with the right data; the stalled processes are
#    then resumed and the file must still match the model.
#
# (test-stall-stale.sh: what a stalled session does once it resumes.)

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 8

export REMOTE="$remote" SSHD_DIR
# With write-behind (the default) and without.
for wb in write-behind=4M write-behind=0; do
    run_plugin -v path="$remote" timeout=5 $wb \
        retries=1 --run '/usr/bin/python3 "$srcdir/test-stall.py" "$uri" dead' \
        2> dead.err || {
        cat dead.err; exit 1; }
    cat dead.err
    expect_grep dead.err "reconnecting (attempt 1 of 1)" \
        "cannot reach 127.0.0.1 port $SSHD_PORT" "timed out"
    cont_sshd

    run_plugin -v path="$remote" timeout=5 $wb \
        --run '/usr/bin/python3 "$srcdir/test-stall.py" "$uri" conns' \
        2> conns.err || {
        cat conns.err; exit 1; }
    cat conns.err
    expect_grep conns.err "reconnecting (attempt 1 of 3)" "timed out"
done

