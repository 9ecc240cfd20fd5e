#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Read a 16 MiB random remote file through the plugin with nbdcopy, with
# the default (multi-conn) number of connections and with one connection.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy sha256sum
start_sshd
cd "$SSHD_DIR"

make_random_file "$SSHD_DIR/disk.img" 16

run_plugin path="$SSHD_DIR/disk.img" \
    --run 'nbdcopy "$uri" out.img'
compare_sha256 "$SSHD_DIR/disk.img" out.img

rm -f out.img
run_plugin path="$SSHD_DIR/disk.img" \
    --run 'nbdcopy --connections=1 "$uri" out.img'
compare_sha256 "$SSHD_DIR/disk.img" out.img
