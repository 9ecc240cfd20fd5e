#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# idle-keep= with dir=: a warm session serves only the export (file) it
# was opened for.  Clients read a.img, b.img, then a.img again, one
# after the other (each may find the previous one's session warm):
# each gets the data of the file it asked for.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy cmp
start_sshd
# One SFTP channel per connection, whatever round trip a busy machine
# measures when a connection opens (channels=auto), as in the other
# test-idle-keep*.sh.
SSH_ARGS+=(channels=1)
cd "$SSHD_DIR"

mkdir -p dir
make_random_file dir/a.img 1
make_random_file dir/b.img 2
cat > dir.sh <<'SHEOF'
#!/bin/sh
set -e
base="${1%%\?*}"; base="${base%/}"
sock="${1#*\?}"
nbdcopy --connections=1 "nbd+unix:///a.img?$sock" a.out
nbdcopy --connections=1 "nbd+unix:///b.img?$sock" b.out
nbdcopy --connections=1 "nbd+unix:///a.img?$sock" a2.out
SHEOF
chmod +x dir.sh
run_plugin dir="$SSHD_DIR/dir" --run './dir.sh "$uri"'
cmp dir/a.img a.out
cmp dir/b.img b.out
cmp dir/a.img a2.out
