#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Write a 16 MiB random local file into a pre-created remote file with
# nbdcopy, then check the remote file.  Also a second pass with one
# connection and --flush, and a sparse source (whose holes must become
# zeroes over old data).

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy sha256sum truncate
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
truncate -s 16M "$remote"
make_random_file local.img 16

run_plugin path="$remote" \
    --run 'nbdcopy local.img "$uri"'
compare_sha256 local.img "$remote"
test "$(stat -c %s "$remote")" -eq $((16 * 1024 * 1024))

# Second pass: new data, one connection, flush at the end.
make_random_file local2.img 16
run_plugin path="$remote" \
    --run 'nbdcopy --connections=1 --flush local2.img "$uri"'
compare_sha256 local2.img "$remote"

# Sparse source: 1 MiB of data at 5 MiB, holes elsewhere.  The holes are
# sent as zero requests (or zero-filled writes) and must overwrite the
# random data already in the remote file.
rm -f sparse.img
truncate -s 16M sparse.img
head -c 1048576 /dev/urandom | dd of=sparse.img bs=1M seek=5 conv=notrunc status=none
run_plugin path="$remote" \
    --run 'nbdcopy sparse.img "$uri"'
compare_sha256 sparse.img "$remote"
test "$(stat -c %s "$remote")" -eq $((16 * 1024 * 1024))
