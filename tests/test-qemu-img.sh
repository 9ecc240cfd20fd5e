#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# qemu-img as the NBD client: info, convert from the export to a local
# file, and convert a local file into the export.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires qemu-img sha256sum /usr/bin/python3
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 8
size=$(stat -c %s "$remote")

# qemu-img info: raw, with the right virtual size.
run_plugin path="$remote" \
    --run 'qemu-img info --output=json -f raw "$uri"' > info.json
cat info.json
/usr/bin/python3 -c '
import json, sys
info = json.load(open("info.json"))
assert info["format"] == "raw", info
assert info["virtual-size"] == int(sys.argv[1]), info
' "$size"

# Export -> local file.
run_plugin path="$remote" \
    --run 'qemu-img convert -f raw -O raw "$uri" local.img'
compare_sha256 "$remote" local.img

# Local file -> export (-n: the target exists).
make_random_file new.img 8
run_plugin path="$remote" \
    --run 'qemu-img convert -n -f raw -O raw new.img "$uri"'
compare_sha256 new.img "$remote"
