#!/usr/bin/env bash
# Names and options from less-trusted places (issue 10, part 4):
# - a host or user name from uri= (or host=, user=) that a shell would
#   run, or that begins with '-', is refused before anything pastes it
#   into ProxyCommand (%h, %r) or a file name; the command never runs;
# - ssh_config's StrictHostKeyChecking no lets in a host that is not in
#   known_hosts, but still refuses a key that contradicts known_hosts.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo ssh-keygen
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 1

# A ProxyCommand that pastes %r and %h into a shell command line.
cat > proxy.conf <<CONF
Host *
    ProxyCommand echo %r %h >/dev/null; exec /bin/false
CONF

refused ()
{
    local what="$1"
    shift
    rm -f "$SSHD_DIR/pwned"
    run_nbdkit_fail err.txt -U - "$PLUGIN" config="$SSHD_DIR/proxy.conf" \
        known-hosts="$KNOWN_HOSTS" "$@" --run 'nbdinfo "$uri"'
    if [ -e "$SSHD_DIR/pwned" ]; then
        echo "FAIL: the injected command ran" >&2
        exit 1
    fi
    expect_grep err.txt "$what name is refused"
}

# In the URI, percent-encoded: "\`touch $SSHD_DIR/pwned\`" or
# ";touch ...;" as user name, "$(touch ...)" as host name.  (The
# plugin runs "exec COMMAND": a backquote or $() in its arguments runs.)
urlenc ()
{
    /usr/bin/python3 -c 'import sys, urllib.parse
print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}
enc="$(urlenc "\`touch $SSHD_DIR/pwned\`")"
refused "user" uri="ssh://$enc@127.0.0.1:$SSHD_PORT$SSHD_DIR/disk.img"
expect_grep err.txt "uri=" "shell metacharacter"
enc="$(urlenc ";touch $SSHD_DIR/pwned;")"
refused "user" uri="ssh://$enc@127.0.0.1:$SSHD_PORT$SSHD_DIR/disk.img"
enc="$(urlenc "\$(touch $SSHD_DIR/pwned)")"
refused "host" uri="ssh://root@$enc:$SSHD_PORT$SSHD_DIR/disk.img"
refused "host" host="a\`touch $SSHD_DIR/pwned\`" port="$SSHD_PORT" \
    path="$SSHD_DIR/disk.img"
expect_grep err.txt "host=" "shell metacharacter"
refused "host" host="-oProxyCommand=touch $SSHD_DIR/pwned" \
    port="$SSHD_PORT" path="$SSHD_DIR/disk.img"
expect_grep err.txt "begins with '-'"
refused "user" user="root touch" host=127.0.0.1 port="$SSHD_PORT" \
    path="$SSHD_DIR/disk.img"
expect_grep err.txt "white space"
refused "user" user="../../etc" host=127.0.0.1 port="$SSHD_PORT" \
    path="$SSHD_DIR/disk.img"
expect_grep err.txt "contains '/'"

# StrictHostKeyChecking no with a known_hosts that records another key
# for this host: refused as a mismatch, no matter what ssh_config says.
ssh-keygen -q -t ed25519 -N '' -C other -f other_key
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 other_key.pub)" \
    > wrong_kh
cat > strict.conf <<CONF
Host 127.0.0.1
    StrictHostKeyChecking no
    UserKnownHostsFile $SSHD_DIR/wrong_kh
    IdentityFile $SSHD_DIR/home/keys/id_root
CONF
run_nbdkit_fail err.txt -U - "$PLUGIN" config="$SSHD_DIR/strict.conf" \
    host=127.0.0.1 port="$SSHD_PORT" path="$SSHD_DIR/disk.img" \
    --run 'nbdinfo "$uri"'
expect_grep err.txt "host key MISMATCH" "wrong_kh"

# The same with a known_hosts that does not know the host: let in.
: > empty_kh
sed -i "s|$SSHD_DIR/wrong_kh|$SSHD_DIR/empty_kh|" strict.conf
run_nbdkit -U - "$PLUGIN" config="$SSHD_DIR/strict.conf" \
    host=127.0.0.1 port="$SSHD_PORT" path="$SSHD_DIR/disk.img" \
    --run 'nbdinfo --size "$uri" > size.txt' 2> ok.err
[ "$(cat size.txt)" = 1048576 ]
expect_grep ok.err "StrictHostKeyChecking no" "still refused"
