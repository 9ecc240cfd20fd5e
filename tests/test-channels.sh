#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# channels=: write-behind WRITEs spread over several SFTP channels of
# one SSH session (on a long link; forced here with channels=N, as the
# loopback round trip asks for one).
#
# 1. Bad values are refused with a message naming the parameter.
# 2. channels=4: one SSH session, four sftp-servers; 24 MiB written
#    by nbdcopy land byte for byte.
# 3. Overlapping writes in quick succession (each acknowledged at once)
#    land in the order they were made, though they may go on different
#    channels; reads in between see them (read your writes:
#    test-channels-overlap.py).
# 4. multi-conn with channels=3: nbdcopy over 4 connections.
# 5. A warm session (idle-keep=) whose file was replaced by rename: the
#    next client's writes go to the new file on every channel (each
#    channel opens the path again).
#
# More in test-channels-kill.sh (a channel's sftp-server killed while
# writes are in flight), test-channels-auto.sh (channels=auto over a
# long round trip), test-channels-proxy-command.sh (four channels
# through a ProxyCommand) and test-channels-fsync.sh.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy cmp
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

logins () { grep -c "Accepted publickey" "$SSHD_LOG" || :; }

# --- 1. Bad values.
for bad in 0 17 abc -1 1.5; do
    run_plugin_fail bad.log path="$remote" channels=$bad --run true
    expect_grep bad.log "channels=$bad"
done
run_plugin_fail bad.log path="$remote" channels=2 channels=3 --run true
expect_grep bad.log "channels"

# --- 2. Four channels, one session.
truncate -s 24M "$remote"
make_random_file local.img 24
s0=$(sftp_sessions) l0=$(logins)
run_plugin -v -D ssh.log=1 path="$remote" channels=4 idle-keep=0 \
    --run 'nbdcopy --connections=1 --flush local.img "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
compare_sha256 local.img "$remote"
[ $(( $(logins) - l0 )) -eq 1 ]
[ $(( $(sftp_sessions) - s0 )) -eq 4 ]
[ "$(grep -c "SFTP channel [0-9] for writes to .* ready" nbdkit.err)" -eq 3 ]

# --- 3. Overlapping writes, read your writes.
truncate -s 4M "$remote"
run_plugin -v -D ssh.log=1 path="$remote" channels=4 \
    --run "/usr/bin/python3 \"\$srcdir/test-channels-overlap.py\" \
           \"\$uri\" $remote" 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
[ "$(grep -c "SFTP channel [0-9] for writes to .* ready" nbdkit.err)" -eq 3 ]

# --- 4. multi-conn.
truncate -s 64M "$remote"
make_random_file local.img 64
run_plugin path="$remote" channels=3 \
    --run 'nbdcopy --connections=4 --flush local.img "$uri"'
compare_sha256 local.img "$remote"

# --- 5. Warm session, file replaced: every channel opens it again.
make_random_file "$remote" 8
make_random_file new.img 8
make_random_file local.img 4
chmod --reference="$remote" new.img
cp new.img final.expect
dd if=local.img of=final.expect bs=1M count=4 seek=2 conv=notrunc status=none
cat > replaced.sh <<'SHEOF'
#!/bin/sh
set -e
# Writes (the session gets its channels), then the session is kept warm.
nbdsh -u "$1" -c 'h.pwrite(b"\1" * 65536, 0)' -c 'import time; time.sleep(2)' \
    -c 'h.flush()'
touch -r disk.img new.img
mv new.img disk.img
# 4 MiB at 2 MiB over every channel of the warm session.
nbdsh -u "$1" -c 'h.pwrite(open("local.img", "rb").read(4 << 20), 2 << 20)' \
    -c 'h.flush()'
SHEOF
chmod +x replaced.sh
s0=$(sftp_sessions)
run_plugin -v -D ssh.log=1 path="$remote" channels=4 idle-keep=30 \
    --run './replaced.sh "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
expect_grep nbdkit.err "disk.img opened again)"
# One session of four channels served both clients.
[ $(( $(sftp_sessions) - s0 )) -eq 4 ]
cmp final.expect "$remote"
