#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# channels=4: a channel's sftp-server killed while writes are in flight
# (test-channels-kill.py): the session reconnects and the writes are
# sent again; the first flush reports that acknowledged writes may be
# lost (EIO), the next one succeeds, and the file is right.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

truncate -s 16M "$remote"
make_random_file local.img 16
run_plugin -v -D ssh.log=1 path="$remote" channels=4 idle-keep=0 \
    --run '/usr/bin/python3 "$srcdir/test-channels-kill.py" "$uri"' \
    2> nbdkit.err || { tail -60 nbdkit.err; exit 1; }
compare_sha256 local.img "$remote"
expect_grep nbdkit.err "sending again"
