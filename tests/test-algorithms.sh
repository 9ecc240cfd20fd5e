#!/usr/bin/env bash
# ciphers=, macs=, kex=: the algorithms asked for are the ones
# negotiated (seen in the debug output), and names this libssh2 does
# not support are refused with the list of those it does.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 1

run_plugin -v -D ssh.log=1 \
    path="$SSHD_DIR/disk.img" ciphers=aes256-ctr macs=hmac-sha2-512 \
    kex=diffie-hellman-group14-sha256 --run 'nbdinfo "$uri" >/dev/null' \
    2> debug.log
expect_grep debug.log "cipher aes256-ctr, MAC hmac-sha2-512, kex diffie-hellman-group14-sha256"

run_plugin_fail err.txt path=x \
    ciphers=aes128-ctr,no-such-cipher --run true
expect_grep err.txt "'no-such-cipher' is not supported" "supported: " "aes128-ctr"
run_plugin_fail err.txt path=x macs= \
    --run true
expect_grep err.txt "macs' must not be empty"
