#!/usr/bin/env bash
# One NBD connection stuck in its SSH set-up (the server's banner held
# back by the fault proxy) does not hold up the others: the create=
# lock is only taken while the file is created, not during every
# connection's handshake.  And create=true still creates the file once
# while several connections open at the same time.

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdinfo nbdcopy cmp
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 1

# The first TCP connection through the proxy stalls from its first byte
# for 30 s (the plugin's timeout= is 60 s); later ones pass.
start_fault_proxy stall.log -m stall -n 0 -s 30 -c 1
export SSHD_DIR
run_nbdkit -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$SSHD_DIR/disk.img" \
    --run '
        set -e
        ( nbdinfo --size "$uri" > first.txt; touch first.done ) &
        # Until the proxy holds the first connection (bounded).
        for i in $(seq 100); do
            grep -q "conn 1: stall" stall.log && break
            sleep 0.1
        done
        grep -q "conn 1: stall" stall.log
        nbdinfo --size "$uri" > second.txt
        if [ -e first.done ]; then
            echo "FAIL: the second connection waited for the stalled first one"
            exit 1
        fi
        wait
    ' 2> nbdkit.err || { cat nbdkit.err stall.log; exit 1; }
[ "$(cat first.txt)" = 1048576 ]
[ "$(cat second.txt)" = 1048576 ]
stop_fault_proxy

# create=true with four connections opening at once: created once (by
# whichever comes first), then served to all four.
rm -f new.img
make_random_file src.img 4
run_plugin path="$SSHD_DIR/new.img" create=true create-size=4M \
    --run 'nbdcopy --connections=4 src.img "$uri"'
cmp src.img new.img
