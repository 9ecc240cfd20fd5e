#!/usr/bin/env bash
# ssh_config: a Host alias with HostName, Port, User, IdentityFile and
# UserKnownHostsFile (with ~ and %d %r %h tokens), IdentitiesOnly,
# first value wins, Include with a glob, Match ignored, command-line
# parameters override the file, StrictHostKeyChecking no, ProxyJump,
# a malformed line reported with file:line, and config= (empty) reading
# nothing.  (ProxyCommand: test-proxy-command.sh.)

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy cmp
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 2 5

# A home directory with the key and known_hosts where the config says.
mkdir -p home/keys home/kh home/.ssh/conf.d
cp "$CLIENT_KEY" home/keys/id_root
chmod 600 home/keys/id_root
cp "$KNOWN_HOSTS" home/kh/known_127.0.0.1
export HOME="$SSHD_DIR/home"
unset SSH_AUTH_SOCK                # the key must come from IdentityFile

cat > home/.ssh/conf.d/alias.conf <<CONF
Host myalias
    HostName 127.0.0.1
    Port $SSHD_PORT
    User root
    IdentityFile %d/keys/id_%r
    IdentitiesOnly yes
    UserKnownHostsFile ~/kh/known_%h
    Port 1
CONF
cat > home/.ssh/config <<CONF
Include conf.d/*.conf
# Match blocks are skipped (with a warning).
Match exec "false"
    Port 2
Host *
    Port 3
    User nobody
CONF

works ()
{
    rm -f out.img
    run_nbdkit -U - "$PLUGIN" "$@" --run 'nbdcopy "$uri" out.img' \
        2> works.err || { cat works.err; return 1; }
    cat works.err
    cmp disk.img out.img
}

# The default config file (~/.ssh/config) and an explicit config=.
# The Match block is skipped, and the user is told (a warning): ssh
# would have read it.
works host=myalias path="$SSHD_DIR/disk.img"
expect_grep works.err "warning: ssh_config: $SSHD_DIR/home/.ssh/config:3: Match exec false ignored"
cp home/.ssh/config main.conf
sed -i "s#^Include conf.d#Include $SSHD_DIR/home/.ssh/conf.d#" main.conf
works config="$SSHD_DIR/main.conf" host=myalias path="$SSHD_DIR/disk.img"

# The command line overrides the file.
closed="$(free_port)"
run_nbdkit_fail err.txt -U - "$PLUGIN" host=myalias port="$closed" \
    path="$SSHD_DIR/disk.img" --run 'nbdinfo "$uri"'
expect_grep err.txt "cannot connect to 127.0.0.1 port $closed"

# config= (empty): nothing is read, so the alias does not resolve.
run_nbdkit_fail err.txt -U - "$PLUGIN" config= host=myalias \
    path="$SSHD_DIR/disk.img" --run 'nbdinfo "$uri"'
expect_grep err.txt "cannot resolve host myalias"

# StrictHostKeyChecking no: an unknown host is accepted, loudly.
cat > strict.conf <<CONF
Host 127.0.0.1
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    IdentityFile $SSHD_DIR/home/keys/id_root
CONF
rm -f out.img
run_nbdkit -U - "$PLUGIN" config="$SSHD_DIR/strict.conf" host=127.0.0.1 \
    port="$SSHD_PORT" path="$SSHD_DIR/disk.img" \
    --run 'nbdcopy "$uri" out.img' 2> strict.err
cmp disk.img out.img
expect_grep strict.err "WARNING" "NOT verified"

# ProxyJump: the connection goes through the (same) sshd as a jump host.
cat > jump.conf <<CONF
Host target
    HostName 127.0.0.1
    Port $SSHD_PORT
    ProxyJump root@127.0.0.1:$SSHD_PORT
    IdentityFile $SSHD_DIR/home/keys/id_root
    UserKnownHostsFile $KNOWN_HOSTS
CONF
before="$(grep -c server_request_direct_tcpip "$SSHD_LOG" || :)"
works config="$SSHD_DIR/jump.conf" host=target path="$SSHD_DIR/disk.img"
after="$(grep -c server_request_direct_tcpip "$SSHD_LOG" || :)"
[ "$after" -gt "$before" ] || { echo "FAIL: ProxyJump not used"; exit 1; }

# A malformed line: file and line number in the message.
printf 'Host myalias\n    Port 22\n    HostName "unterminated\n' > bad.conf
run_nbdkit_fail err.txt -U - "$PLUGIN" config="$SSHD_DIR/bad.conf" \
    host=myalias path="$SSHD_DIR/disk.img" --run true
expect_grep err.txt "$SSHD_DIR/bad.conf:3"
# A config= file that does not exist.
run_nbdkit_fail err.txt -U - "$PLUGIN" config="$SSHD_DIR/nothere.conf" \
    host=myalias path="$SSHD_DIR/disk.img" --run true
expect_grep err.txt "nothere.conf"
