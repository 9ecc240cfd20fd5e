#!/usr/bin/env bash
# The jump host forwarder waits only for what can make progress: after
# a sequential read (read-ahead replies keep arriving and fill the
# forwarder's socketpair while the client does nothing), an idle
# client costs nbdkit (almost) no CPU.  It used to spin at 100% of a
# core, polling a readable socket it would not read.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
exclusive_test "$@"
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 32

run_plugin -P "$SSHD_DIR/nbdkit.pid" path="$SSHD_DIR/disk.img" \
    jump="127.0.0.1:$SSHD_PORT" \
    --run '/usr/bin/python3 "$srcdir/test-jump-idle.py" "$uri" \
               "$SSHD_DIR/nbdkit.pid" "$SSHD_DIR/disk.img"'
