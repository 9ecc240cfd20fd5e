#!/usr/bin/env bash
# -D ssh.log=N takes nbdkit's plugin's levels 1-4, each adding to the
# one before: 1 the plugin's steps, 2 protocol details (algorithms
# offered, the server's banner), 3 every read and write on the SSH
# socket, 4 libssh2's own trace (or, with a libssh2 built without
# tracing, as Debian's is, one message saying so).  Above 4 is 4;
# without -D nothing of the plugin's is printed.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo
start_sshd
cd "$SSHD_DIR"
truncate -s 1M disk.img

at_level ()
{
    local level="$1"
    run_plugin -v ${level:+-D ssh.log=$level} path="$SSHD_DIR/disk.img" \
        --run 'nbdinfo --size "$uri"' > "out$level.txt" 2> "log$level.txt"
    grep -qx 1048576 "out$level.txt"
}

# has_not FILE STRING: FILE does not contain STRING.
has_not ()
{
    if grep -q -F -e "$2" "$1"; then
        echo "FAIL: '$2' in $1:"; grep -F -e "$2" "$1" | head -n 5; exit 1
    fi
}

for l in "" 1 2 3 4 9; do at_level "$l"; done

has_not log.txt "connected to 127.0.0.1"
expect_grep log1.txt "connected to 127.0.0.1" "auth: authenticated with"
has_not log1.txt "offering"
has_not log1.txt "received"
expect_grep log2.txt "connected to 127.0.0.1" "offering cipher client to server:" \
    "server banner SSH-2.0-OpenSSH"
has_not log2.txt ": received "
expect_grep log3.txt "offering" ": received " ": sent "
has_not log3.txt "nothing more than at level 3"
has_not log3.txt "libssh2: "
for f in log4.txt log9.txt; do
    expect_grep "$f" "offering" ": received "
    if grep -q -F "libssh2: " "$f"; then
        # A libssh2 built with tracing: its lines, and no excuse.
        has_not "$f" "built without tracing"
    else
        expect_grep "$f" "was built without tracing (LIBSSH2DEBUG)"
    fi
done
