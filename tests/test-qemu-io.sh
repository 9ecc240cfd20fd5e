#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# qemu-io as the NBD client: pattern writes at odd offsets and lengths
# (up to the last byte of a remote file whose size is not a multiple of
# 512), read back with "read -P" (qemu-io checks the pattern and exits
# non-zero on a mismatch), then the remote file is compared byte for byte
# with a local model.  Then qemu-img info's virtual size, and qemu-img
# convert both ways: export -> local qcow2 -> a second export.
#
# qemu 7.2 rounds an NBD export's size up to a multiple of 512 (the tail
# reads as zeroes, writes to it fail), so the unaligned file is checked
# with qemu-io and converted to qcow2 only; the round trip uses a file
# whose size is a multiple of 512.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires qemu-io qemu-img cmp /usr/bin/python3
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 3 777          # 3 MiB + 777 bytes
size=$(stat -c %s "$remote")
cp "$remote" orig.img

# The writes: "pattern offset length".  Odd offsets and lengths, one
# across the 1 MiB boundary, a single byte in the middle, the 999 bytes
# before the last one, then the very last byte and the first byte.  They
# do not overlap, so the reads below check each region as written.
writes=(
    "0xab 12345 6789"
    "0x5c 1 511"
    "0x33 1048575 131073"
    "0x7f 2000001 1"
    "0xc4 2500000 65537"
    "0xfe $((size - 1000)) 999"
    "0x01 $((size - 1)) 1"
    "0xe9 0 1"
)
cmds=()
for w in "${writes[@]}"; do cmds+=(-c "write -P $w"); done
# Zeroes through write -z (NBD_CMD_WRITE_ZEROES, or emulated by nbdkit).
cmds+=(-c "write -z 777777 4097")
for w in "${writes[@]}"; do cmds+=(-c "read -P $w"); done
cmds+=(-c "read -P 0 777777 4097")
# One read of the whole file (its data is checked by qemu-img compare
# against the model below).
cmds+=(-c "read 0 $size")
cmds+=(-c "flush")

# (nbdkit runs --run with /bin/sh: the command line goes in a script.)
printf 'exec qemu-io -f raw %s "$1"\n' "$(printf '%q ' "${cmds[@]}")" > qemu-io.sh
cat qemu-io.sh
r=0
run_plugin path="$remote" \
    --run 'bash ./qemu-io.sh "$uri"' > qemu-io.out || r=$?
cat qemu-io.out
if [ "$r" -ne 0 ]; then
    echo "FAIL: qemu-io (or nbdkit) exited with status $r" >&2
    exit 1
fi
if grep -q -i -e 'fail' -e 'error' -e 'mismatch' qemu-io.out; then
    echo "FAIL: qemu-io reported an error" >&2
    exit 1
fi
# Every write and read was done (one "wrote"/"read" line per command).
test "$(grep -c '^wrote ' qemu-io.out)" -eq $(( ${#writes[@]} + 1 ))
test "$(grep -c '^read ' qemu-io.out)" -eq $(( ${#writes[@]} + 2 ))

# The model: the original file with the same writes applied.
/usr/bin/python3 "$srcdir/test-qemu-io-model.py" "$size" "${writes[@]}"
test "$(stat -c %s "$remote")" -eq "$size"
cmp model.img "$remote"
# The same through NBD (qemu's rounded-up tail must read as zeroes).
run_plugin -r path="$remote" \
    --run 'qemu-img compare -f raw -F raw model.img "$uri"'

# qemu-img info: qemu rounds the unaligned size up to 512.
run_plugin path="$remote" \
    --run 'qemu-img info --output=json -f raw "$uri"' > info.json
cat info.json
/usr/bin/python3 -c '
import json, sys
info = json.load(open("info.json"))
size = int(sys.argv[1])
assert info["format"] == "raw", info
assert info["virtual-size"] == (size + 511) // 512 * 512, info
' "$size"

# Unaligned export -> qcow2: the first $size bytes are the file, the
# rounded-up tail is zeroes.
run_plugin path="$remote" \
    --run 'qemu-img convert -f raw -O qcow2 "$uri" unaligned.qcow2'
qemu-img convert -f qcow2 -O raw unaligned.qcow2 unaligned.raw
test "$(stat -c %s unaligned.raw)" -eq $(( (size + 511) / 512 * 512 ))
cmp -n "$size" "$remote" unaligned.raw
cmp -i "$size:0" -n $(( (size + 511) / 512 * 512 - size )) unaligned.raw /dev/zero

# Round trip with an aligned size: export -> qcow2 -> second export.
remote2="$SSHD_DIR/disk2.img"
make_random_file "$remote" 4 1536
make_random_file "$remote2" 4 1536
cp "$remote" src.img
size=$(stat -c %s "$remote")

run_plugin path="$remote" \
    --run 'qemu-img info --output=json -f raw "$uri"' > info.json
/usr/bin/python3 -c '
import json, sys
info = json.load(open("info.json"))
assert info["virtual-size"] == int(sys.argv[1]), info
' "$size"

run_plugin path="$remote" \
    --run 'qemu-img convert -f raw -O qcow2 "$uri" local.qcow2'
qemu-img check local.qcow2
qemu-img compare -f raw -F qcow2 src.img local.qcow2

run_plugin path="$remote2" \
    --run 'qemu-img convert -n -f qcow2 -O raw local.qcow2 "$uri" &&
           qemu-img compare -F raw -f qcow2 local.qcow2 "$uri"'
test "$(stat -c %s "$remote2")" -eq "$size"
cmp src.img "$remote2"
cmp "$remote" "$remote2"
