#!/usr/bin/env bash
# Write-behind (write-behind=SIZE; on by default): writes are
# acknowledged once queued in the connection's window.
#
# 1. write-behind= refuses bad values.
# 2. With the window off (0), tiny (64k: the ring wraps all the time)
#    and at its default: an nbdcopy upload, and random writes and
#    reads (each read checked at once: a read sees the connection's
#    own writes still in flight), an aio burst, FUA writes, a flush;
#    the remote file matches byte for byte (test-write-behind-rw.py).
#
# More in test-write-behind-resend.sh (writes in flight when the
# connection breaks), test-write-behind-flush.sh (what a flush after a
# reconnect may claim), test-write-behind-drain.sh (a flush waiting
# for a stalled connection holds up no one else) and
# test-write-behind-quiet.sh (queued writes go out while the client is
# quiet).

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdcopy cmp
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"

# --- 1. Bad values.
for bad in abc 1k 63k 2G -1; do
    run_plugin_fail bad.log path="$remote" write-behind=$bad --run true
    expect_grep bad.log "write-behind=$bad"
done
run_plugin_fail bad.log path="$remote" write-behind=1M write-behind=2M \
    --run true
expect_grep bad.log "write-behind"

# --- 2. Data, with the window off, tiny and default.
export REMOTE="$remote"
for wb in 0 64k default; do
    arg=()
    [ "$wb" = default ] || arg=(write-behind=$wb)
    make_random_file "$remote" 24
    make_random_file in.img 24
    run_plugin path="$remote" "${arg[@]}" \
        --run 'nbdcopy --connections=1 --flush in.img "$uri"'
    cmp in.img "$remote"
    run_plugin path="$remote" "${arg[@]}" \
        --run '/usr/bin/python3 "$srcdir/test-write-behind-rw.py" "$uri"'
done
