#!/usr/bin/env bash
# dir=: every regular file of a remote directory is an export named
# after the file; nbdinfo --list lists them with descriptions; two
# exports are read over two connections; symlinks, subdirectories and
# names with '/' or '..' are refused; nothing outside is reachable.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy nbdinfo cmp
start_sshd
cd "$SSHD_DIR"
mkdir exp exp/sub
make_random_file exp/a.img 1
make_random_file exp/b.img 2 77
ln -s /etc/passwd exp/link
ln -s a.img exp/alias
echo outside > outside.txt

run_plugin dir="$SSHD_DIR/exp" \
    --run 'nbdinfo --list --json "$uri"' > list.json
/usr/bin/python3 "$srcdir/test-dir-list.py" "$SSHD_DIR" "$SSHD_PORT"

# Two exports over two connections, and the default export (the first
# name in order).
run_plugin dir="$SSHD_DIR/exp" --run '
    nbdcopy "nbd+unix:///a.img?socket=$unixsocket" a.out &&
    nbdcopy "nbd+unix:///b.img?socket=$unixsocket" b.out &&
    nbdinfo --json "$uri" > default.json'
cmp exp/a.img a.out
cmp exp/b.img b.out
grep '"export-name": "a.img"' default.json

# Refused names: each fails, and says why.
for name in link alias sub ../outside.txt %2E%2E nothere; do
    run_plugin_fail err.txt \
        dir="$SSHD_DIR/exp" \
        --run "nbdinfo \"nbd+unix:///$name?socket=\$unixsocket\""
    case "$name" in
        link|alias|sub) expect_grep err.txt "not a regular file" ;;
        nothere) expect_grep err.txt "no such file" ;;
        *) expect_grep err.txt "is not the name of a file in" ;;
    esac
done

# path= and dir= together, or neither: refused.
run_plugin_fail err.txt dir=/x path=/y \
    --run true
expect_grep err.txt "cannot be used together"
