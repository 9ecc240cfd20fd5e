#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# nbdinfo --json reports the exact size of a remote file (not a multiple
# of 512), can_flush, can_multi_conn, and is_read_only (false, and true
# with nbdkit -r).

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo /usr/bin/python3
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 1 12345
size=$(stat -c %s "$remote")

# check_info JSONFILE KEY=VALUE...: VALUE is compared with the JSON value
# of the first export (true/false/number).
check_info ()
{
    /usr/bin/python3 "$srcdir/test-info-check.py" "$@"
}

run_plugin path="$remote" \
    --run 'nbdinfo --json "$uri"' > info.json
cat info.json
check_info info.json "export-size=$size" can_flush=true can_multi_conn=true \
    is_read_only=false

run_plugin -r path="$remote" \
    --run 'nbdinfo --json "$uri"' > info-ro.json
cat info-ro.json
check_info info-ro.json "export-size=$size" is_read_only=true

# Plain nbdinfo --size agrees.
run_plugin path="$remote" \
    --run 'nbdinfo --size "$uri"' > size.txt
test "$(cat size.txt)" = "$size"
