#!/usr/bin/env bash
# create=true create-size= create-mode=: the remote file is created
# (replacing an existing one) once, by the first connection, with the
# size and mode asked for; nbdcopy's multi-conn writes into it; bad
# combinations are refused.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy nbdinfo cmp stat
start_sshd
cd "$SSHD_DIR"

# A new file: size with a suffix, default mode 0600.
run_plugin path="$SSHD_DIR/new.img" \
    create=true create-size=12M --run 'nbdinfo --json "$uri"' > info.json
grep '"export-size": 12582912' info.json
[ "$(stat -c %s new.img)" -eq 12582912 ]
[ "$(stat -c %a new.img)" = 600 ]

# An existing file is replaced; several connections (nbdcopy's default
# multi-conn) create it once and all write into it.
make_random_file src.img 16
make_random_file old.img 3
run_plugin path="$SSHD_DIR/old.img" \
    create=true create-size=16777216 create-mode=0640 \
    --run 'nbdcopy --connections=4 src.img "$uri"'
cmp src.img old.img
[ "$(stat -c %a old.img)" = 640 ]

# Bad input.
run_plugin_fail e1.txt path=x.img \
    create=true --run true
expect_grep e1.txt "create-size"
run_plugin_fail e2.txt path=x.img \
    create-size=1M --run true
expect_grep e2.txt "need create=true"
run_plugin_fail e3.txt path=x.img \
    create=true create-size=1M create-mode=0999 --run true
expect_grep e3.txt "create-mode=0999"
run_plugin_fail e4.txt path=x.img \
    create=true create-size=lots --run true
expect_grep e4.txt "lots"
# Creating in a directory that does not exist: a clear error.
run_plugin_fail e5.txt \
    path="$SSHD_DIR/nodir/x.img" create=true create-size=1M \
    --run 'nbdinfo "$uri"'
expect_grep e5.txt "cannot create remote file $SSHD_DIR/nodir/x.img" \
    "no such file"
