#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# ~300 random preads and pwrites of random sizes (1 byte .. 300 KiB) at
# unaligned offsets on a remote file whose size is not a multiple of 512,
# checked against a local model.  Then a batch of concurrent (aio)
# requests, flush, and a byte-for-byte comparison of the remote file with
# the model.  Set RANDOM_IO_SEED to replay a run.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires cmp
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 5 1234          # 5 MiB + 1234 bytes

REMOTE="$remote" run_plugin path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-random-io.py" "$uri"'

# Again after nbdkit has closed the file.
cmp "$remote" model.bin
