#!/usr/bin/env bash
# jump=: the connection to the target goes through a direct-tcpip
# channel of each jump host (one hop, then a chain of two), with host
# key verification and authentication at every hop.  The test sshd is
# both the jump host and the target; its log shows the forwarding.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy cmp
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 8 99

n_fwd () { grep -c "server_request_direct_tcpip" "$SSHD_LOG" || :; }

before="$(n_fwd)"
run_plugin path="$SSHD_DIR/disk.img" \
    jump="127.0.0.1:$SSHD_PORT" --run 'nbdcopy "$uri" out1.img'
cmp disk.img out1.img
[ "$(n_fwd)" -ge $((before + 1)) ] || { echo "FAIL: no forwarding seen"; exit 1; }

# A chain of two, with a user and an IPv6-style bracketed address, and
# writes through it.
before="$(n_fwd)"
make_random_file src.img 8 99
run_plugin path="$SSHD_DIR/disk.img" \
    jump="root@127.0.0.1:$SSHD_PORT" jump="[127.0.0.1]:$SSHD_PORT" \
    --run 'nbdcopy src.img "$uri" && nbdcopy "$uri" out2.img'
cmp src.img disk.img
cmp src.img out2.img
[ "$(n_fwd)" -ge $((before + 4)) ] || { echo "FAIL: expected 2 hops x 2 connections"; exit 1; }

# The jump host's key is checked too: unknown → refused, naming it.
: > empty_known_hosts
run_nbdkit_fail err.txt -U - "$PLUGIN" host=127.0.0.1 port="$SSHD_PORT" \
    known-hosts="$SSHD_DIR/empty_known_hosts" host-key="$HOST_FP_SHA256" \
    path="$SSHD_DIR/disk.img" jump="127.0.0.1:$SSHD_PORT" \
    --run 'nbdinfo "$uri"'
expect_grep err.txt "host key of [127.0.0.1]:$SSHD_PORT is not in known_hosts"

# A jump host that refuses the connection.
closed="$(free_port)"
run_plugin_fail err.txt \
    path="$SSHD_DIR/disk.img" jump="127.0.0.1:$closed" \
    --run 'nbdinfo "$uri"'
expect_grep err.txt "cannot connect to 127.0.0.1 port $closed"

# Bad specs are refused at start-up.
for spec in "" "@host" "host:0" "host:x" "[::1" "::1" "user@"; do
    run_plugin_fail err.txt path=x \
        jump="$spec" --run true
    expect_grep err.txt "jump"
done
