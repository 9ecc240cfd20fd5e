#!/usr/bin/env bash
# ssh_config's ProxyCommand: the connection runs over the standard input
# and output of "ssh -W %h:%p" to the test sshd (the common real-world
# command).  A copy out and a copy in verify byte for byte, the tokens
# are expanded, the sshd saw the forwarding, and no proxy process is
# left behind.  A command that exits makes a clear error with its exit
# status; an unknown token is refused.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires ssh
requires nbdcopy
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 4

write_proxy_command_config pc.conf

before="$(grep -c server_request_direct_tcpip "$SSHD_LOG" || :)"
run_nbdkit -v -D ssh.log=1 -U - "$PLUGIN" config="$SSHD_DIR/pc.conf" \
    host=viaproxy known-hosts="$KNOWN_HOSTS" path="$SSHD_DIR/disk.img" \
    --run 'nbdcopy "$uri" out.img' 2> pc.log || { cat pc.log; exit 1; }
compare_sha256 disk.img out.img
expect_grep pc.log \
    "ProxyCommand for 127.0.0.1 port $SSHD_PORT: ssh -F /dev/null" \
    "-p $SSHD_PORT -W 127.0.0.1:$SSHD_PORT root@127.0.0.1" \
    "ProxyCommand for 127.0.0.1 (pid"
after="$(grep -c server_request_direct_tcpip "$SSHD_LOG" || :)"
[ "$after" -gt "$before" ] || { echo "FAIL: the ProxyCommand was not used"; exit 1; }

# Writing through it.
make_random_file new.img 4
run_nbdkit -U - "$PLUGIN" config="$SSHD_DIR/pc.conf" host=viaproxy \
    known-hosts="$KNOWN_HOSTS" path="$SSHD_DIR/disk.img" \
    --run 'nbdcopy new.img "$uri"'
compare_sha256 new.img disk.img

# Nothing left running (bounded wait: the command ends as its socket
# closes).
for i in $(seq 50); do
    pgrep -f -- "-W 127.0.0.1:$SSHD_PORT" >/dev/null || break
    sleep 0.1
done
if pgrep -a -f -- "-W 127.0.0.1:$SSHD_PORT"; then
    echo "FAIL: ProxyCommand processes left behind"; exit 1
fi

# A command that fails: its exit status is in the error.
printf 'Host failing\n    ProxyCommand sh -c "echo no route >&2; exit 3"\n' > fail.conf
run_nbdkit_fail err.txt -U - "$PLUGIN" config="$SSHD_DIR/fail.conf" \
    host=failing known-hosts="$KNOWN_HOSTS" path="$SSHD_DIR/disk.img" \
    --run 'nbdinfo "$uri"'
expect_grep err.txt "SSH handshake with failing port 22 failed" \
    "ProxyCommand exited with status 3" "no route"

# An unknown token is an error naming it.
printf 'Host badtoken\n    ProxyCommand nc %%z %%p\n' > tok.conf
run_nbdkit_fail err.txt -U - "$PLUGIN" config="$SSHD_DIR/tok.conf" \
    host=badtoken path="$SSHD_DIR/disk.img" --run true
expect_grep err.txt "ProxyCommand" "%z"
