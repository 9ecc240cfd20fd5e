#!/usr/bin/env bash
# idle-keep=SECS: a closed connection's SSH session and open file are
# kept warm and handed to the next NBD connection to the same export.
#
# 1. idle-keep= refuses bad values.
# 2. nbdinfo, then nbdcopy, then nbdsh against one nbdkit: one SSH
#    session serves them all (counted in sshd's log); with idle-keep=0
#    each has its own.  Data written by one client (without a flush) is
#    read back by the next and is in the file.
#
# More in test-idle-keep-expire.sh (a warm session expires),
# test-idle-keep-dead.sh (a warm session whose server died is never
# handed out), test-idle-keep-dir.sh (dir=: a warm session serves only
# its own file), test-idle-keep-replaced.sh (the file replaced under a
# warm session), test-idle-keep-close-fsync.sh (idle-keep=0: unflushed
# writes fsynced at close) and test-idle-keep-gone.sh (the file gone
# from the path of a warm session with unflushed writes).

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdcopy nbdinfo cmp
requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto): this test finds a
# connection's sftp-server, or counts sessions.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

# --- 1. Bad values.
for bad in abc -1 3601 1.5; do
    run_plugin_fail bad.log path="$remote" idle-keep=$bad --run true
    expect_grep bad.log "idle-keep"
done

# --- 2. One session for several clients in a row.
cat > clients.sh <<'SHEOF'
#!/bin/sh
set -e
nbdinfo --size "$1"
nbdcopy --connections=1 "$1" out.img
nbdsh -u "$1" -c 'h.pwrite(b"\xab" * 70000, 12345)'
nbdsh -u "$1" -c 'assert h.pread(70000, 12345) == b"\xab" * 70000'
SHEOF
chmod +x clients.sh
for keep in default 0; do
    make_random_file "$remote" 8
    cp "$remote" expect.img
    printf '\253%.0s' $(seq 70000) |
        dd of=expect.img bs=1 seek=12345 conv=notrunc status=none
    before=$(sftp_sessions)
    run_plugin path="$remote" $([ $keep = default ] || echo idle-keep=0) \
        --run './clients.sh "$uri"'
    n=$(( $(sftp_sessions) - before ))
    cmp expect.img "$remote"
    echo "idle-keep=$keep: $n SSH sessions for 4 clients"
    if [ $keep = default ] && [ $n -ne 1 ]; then
        echo "FAIL: expected one SSH session, got $n"; exit 1
    fi
    if [ $keep = 0 ] && [ $n -ne 4 ]; then
        echo "FAIL: expected 4 SSH sessions with idle-keep=0, got $n"; exit 1
    fi
done
