#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# A required parameter missing (host=, path=) or one that is malformed
# (port=abc): nbdkit fails, and its stderr names the parameter.
#
# Each case runs nbdinfo under --run, as a client would, with everything
# else right (the test sshd, its known_hosts, an existing file): the
# failure can only come from the parameter.
#
# (test-errors-connect.sh: nothing listening on the port;
# test-errors-open.sh: the remote file does not exist.)

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
