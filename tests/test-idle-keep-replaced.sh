#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# idle-keep=: a file replaced (renamed over) while its session is warm,
# by a copy with the same size, mode, owner and mtime (what rsync -a or
# cp -p + mv leave): the next client gets the new file, not the old
# one's open handle (the warm session opens the path again; SFTP v3
# has no inode number to compare), and its writes go to the new file;
# one SSH session served both clients.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdcopy cmp
requires_libnbd_python
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto): this test counts
# sessions.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

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
before=$(sftp_sessions)
run_plugin -v -D ssh.log=1 path="$remote" \
    --run './replaced.sh "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
cmp old.img before.out
cmp new.expect after.out
# The write went to the new file, which the path names.
cmp final.expect "$remote"
# Still one session: the warm one, with the file opened again.
[ $(( $(sftp_sessions) - before )) -eq 1 ]
expect_grep nbdkit.err "disk.img opened again)"
