#!/usr/bin/env bash
# idle-keep=SECS: a closed connection's SSH session and open file are
# kept warm and handed to the next NBD connection to the same export.
#
# 1. idle-keep= refuses bad values.
# 2. nbdinfo, then nbdcopy, then nbdsh against one nbdkit: one SSH
#    session serves them all (counted in sshd's log); with idle-keep=0
#    each has its own.  Data written by one client (without a flush) is
#    read back by the next and is in the file.
# 3. A warm session expires: with idle-keep=1, the server's session
#    ends a few seconds after the client left, while nbdkit runs on.
# 4. A warm session whose server died is never handed out: the next
#    client gets a new session and its data verifies.
# 5. dir=: a warm session serves only the export (file) it was opened
#    for.
# 6. A file replaced (renamed over) while its session is warm, by a
#    copy with the same size, mode, owner and mtime: the next client
#    gets the new file, not the old one's open handle (the warm session
#    opens the path again; SFTP v3 has no inode number to compare).
# 7. Writes never flushed are fsynced when the session closes (here
#    with idle-keep=0): no flush can cover them after that.
# 8. The file of a warm session with unflushed writes is renamed away:
#    the next client cannot open the path (a clear error), the warm
#    session's writes are fsynced through its old handle when it is
#    closed, and once the file is back a client's flush succeeds (a
#    review found the old handle closed before the new one was open, so
#    that fsync failed and every later flush of the file reported a
#    loss that never was).

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

sessions () { grep -c "Starting session: subsystem 'sftp'" "$SSHD_LOG" || :; }

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
    before=$(sessions)
    run_plugin path="$remote" $([ $keep = default ] || echo idle-keep=0) \
        --run './clients.sh "$uri"'
    n=$(( $(sessions) - before ))
    cmp expect.img "$remote"
    echo "idle-keep=$keep: $n SSH sessions for 4 clients"
    if [ $keep = default ] && [ $n -ne 1 ]; then
        echo "FAIL: expected one SSH session, got $n"; exit 1
    fi
    if [ $keep = 0 ] && [ $n -ne 4 ]; then
        echo "FAIL: expected 4 SSH sessions with idle-keep=0, got $n"; exit 1
    fi
done

# --- 3. Expiry.
cat > expire.sh <<'SHEOF'
#!/bin/sh
set -e
nbdinfo --size "$1"
# The warm session lives on after the client left ...
sleep 0.3
# (sshd logs "Close session" only if the channel's close reaches it
# before the disconnect; "Disconnected from user" always.)
closed0=$(grep -c "Disconnected from user" "$SSHD_LOG" || :)
# ... and is closed once idle-keep=1 has passed (bounded wait).
i=0
while [ $i -lt 100 ]; do
    closed=$(grep -c "Disconnected from user" "$SSHD_LOG" || :)
    [ "$closed" -gt "$closed0" ] && break
    sleep 0.1; i=$((i+1))
done
[ "$closed" -gt "$closed0" ] || { echo "FAIL: the warm session never expired"; exit 1; }
echo "expired after about $i tenths of a second"
[ $i -ge 3 ] || { echo "FAIL: the warm session was closed at once"; exit 1; }
SHEOF
chmod +x expire.sh
export SSHD_LOG
run_plugin path="$remote" idle-keep=1 --run './expire.sh "$uri"'

# --- 4. The server dies under a warm session.
export REMOTE="$remote"
run_plugin -v -D ssh.log=1 path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-idle-keep-dead.py" "$uri"' \
    2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
grep -E "idle-keep|error" nbdkit.err || :
if grep -F "reusing the warm session" nbdkit.err; then
    echo "FAIL: a dead warm session was handed out"; exit 1
fi
# Found dead when claimed, or by the keepalive thread before.
grep -E "warm session to .* is dead|closing the warm session .*\(dead\)" \
     nbdkit.err || {
    echo "FAIL: the dead warm session was not noticed"; exit 1; }

# --- 5. dir=: one warm session per file.
mkdir -p dir
make_random_file dir/a.img 1
make_random_file dir/b.img 2
cat > dir.sh <<'SHEOF'
#!/bin/sh
set -e
base="${1%%\?*}"; base="${base%/}"
sock="${1#*\?}"
nbdcopy --connections=1 "nbd+unix:///a.img?$sock" a.out
nbdcopy --connections=1 "nbd+unix:///b.img?$sock" b.out
nbdcopy --connections=1 "nbd+unix:///a.img?$sock" a2.out
SHEOF
chmod +x dir.sh
run_plugin dir="$SSHD_DIR/dir" --run './dir.sh "$uri"'
cmp dir/a.img a.out
cmp dir/b.img b.out
cmp dir/a.img a2.out

# --- 6. The file replaced while its session is warm, by a copy that
# attributes cannot tell apart (same size, mode, owner and mtime: what
# rsync -a or cp -p + mv leave): the warm session opens the path again.
make_random_file "$remote" 1
make_random_file new.img 1
chmod --reference="$remote" new.img
touch -r "$remote" new.img
cat > replaced.sh <<'SHEOF'
#!/bin/sh
set -e
nbdcopy --connections=1 "$1" before.out
touch -r disk.img new.img
mv new.img disk.img
nbdcopy --connections=1 "$1" after.out
nbdsh -u "$1" -c 'h.pwrite(b"\x5a" * 4096, 8192)'
SHEOF
chmod +x replaced.sh
cp "$remote" old.img
cp new.img new.expect
cp new.img final.expect
printf 'Z%.0s' $(seq 4096) |
    dd of=final.expect bs=1 seek=8192 conv=notrunc status=none
before=$(sessions)
run_plugin -v -D ssh.log=1 path="$remote" \
    --run './replaced.sh "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
cmp old.img before.out
cmp new.expect after.out
# The write went to the new file, which the path names.
cmp final.expect "$remote"
# Still one session: the warm one, with the file opened again.
[ $(( $(sessions) - before )) -eq 1 ]
expect_grep nbdkit.err "disk.img opened again)"

# --- 7. Unflushed writes fsynced at close.
run_plugin -v -D ssh.log=1 path="$remote" idle-keep=0 \
    --run 'nbdsh -u "$uri" -c "h.pwrite(b\"x\" * 4096, 0)"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
expect_grep nbdkit.err "close: fsync of remote file"
[ "$(head -c 4096 "$remote" | tr -d x | wc -c)" -eq 0 ]

# --- 8. The file gone from the path of a warm session.
make_random_file "$remote" 1
cat > gone.sh <<'SHEOF'
#!/bin/sh
set -e
nbdsh -u "$1" -c 'h.pwrite(b"g" * 4096, 0)'
mv disk.img disk.away
if nbdinfo --size "$1"; then
    echo "FAIL: a missing file was served"; exit 1
fi
mv disk.away disk.img
nbdsh -u "$1" -c 'h.flush()'
SHEOF
chmod +x gone.sh
run_plugin -v -D ssh.log=1 path="$remote" --run './gone.sh "$uri"' \
    2> nbdkit.err || { tail -50 nbdkit.err; exit 1; }
grep -E "idle-keep|fsync|error" nbdkit.err || :
expect_grep nbdkit.err "cannot open remote file" "close: fsync of remote file"
[ "$(head -c 4096 "$remote" | tr -d g | wc -c)" -eq 0 ]
