#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Nothing listening on the port: a client's connection fails, nbdkit
# exits non-zero, and its stderr names the host and the port and says
# the connection was refused.
#
# The connection is made when a client connects, so nbdinfo runs under
# --run: its failure makes nbdkit exit non-zero.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/small.img"
make_random_file "$remote" 1

closed_port="$(free_port)"
run_nbdkit_fail err-closed.txt -U - "$PLUGIN" host=127.0.0.1 \
    "port=$closed_port" "known-hosts=$KNOWN_HOSTS" path="$remote" \
    --run 'nbdinfo "$uri"'
expect_grep -i err-closed.txt "127.0.0.1" "$closed_port" "refused"
