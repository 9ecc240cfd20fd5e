#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# A remote file that does not exist: a client's open fails, nbdkit
# exits non-zero, and its stderr names the path and says "no such
# file".
#
# The file is opened when a client connects, so nbdinfo runs under
# --run: its failure makes nbdkit exit non-zero.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo
start_sshd
cd "$SSHD_DIR"

missing="$SSHD_DIR/no-such-dir/missing.img"
run_plugin_fail err-missing.txt \
    path="$missing" --run 'nbdinfo "$uri"'
expect_grep -i err-missing.txt "$missing" "no such file"
