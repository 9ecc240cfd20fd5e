#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Error cases: nbdkit must fail, and its stderr must say why.
#
# Connection, authentication and open errors can only happen when a
# client connects, so every case runs nbdinfo under --run: its failure
# (or an earlier failure of nbdkit itself) makes nbdkit exit non-zero.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/small.img"
make_random_file "$remote" 1

# Missing host=.
run_nbdkit_fail err-nohost.txt -U - "$PLUGIN" "port=$SSHD_PORT" \
    "known-hosts=$KNOWN_HOSTS" path="$remote" --run 'nbdinfo "$uri"'
expect_grep -i err-nohost.txt "host" "required"

# Missing path=.
run_plugin_fail err-nopath.txt \
    --run 'nbdinfo "$uri"'
expect_grep -i err-nopath.txt "path" "required"

# Port that is not a number.
run_nbdkit_fail err-port.txt -U - "$PLUGIN" host=127.0.0.1 port=abc \
    "known-hosts=$KNOWN_HOSTS" path="$remote" --run 'nbdinfo "$uri"'
expect_grep -i err-port.txt "port" "abc"

# Nothing listening on the port.
closed_port="$(free_port)"
run_nbdkit_fail err-closed.txt -U - "$PLUGIN" host=127.0.0.1 \
    "port=$closed_port" "known-hosts=$KNOWN_HOSTS" path="$remote" \
    --run 'nbdinfo "$uri"'
expect_grep -i err-closed.txt "127.0.0.1" "$closed_port" "refused"

# Remote file that does not exist.
missing="$SSHD_DIR/no-such-dir/missing.img"
run_plugin_fail err-missing.txt \
    path="$missing" --run 'nbdinfo "$uri"'
expect_grep -i err-missing.txt "$missing" "no such file"
