#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# nbdkit's own filters in front of the plugin (nbdkit --filter=F PLUGIN):
#   retry      reads and writes through it, byte for byte
#   cow        the client reads back its writes, the remote file is
#              unchanged afterwards
#   cache      the export read twice (the second time from the cache),
#              and a write flushed through the writeback cache
#   readahead  sequential reads (nbdcopy with one connection, and many
#              small sequential preads)
#   partition  a remote disk with an MBR made locally with sfdisk:
#              partition=1 and partition=2 are exactly the partitions'
#              bytes; a write to partition 2 lands there and nowhere else

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy nbdinfo sfdisk dd cmp
requires_libnbd_python
for f in retry cow cache readahead partition; do
    requires_run "nbdkit $f filter" nbdkit --filter="$f" null --dump-plugin
done
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"

# ----------------------------------------------------------------------
# retry
make_random_file "$remote" 8 4321
cp "$remote" orig.img
run_plugin --filter=retry path="$remote" \
    retries=2 retry-delay=1 \
    --run 'nbdcopy "$uri" retry.out'
cmp "$remote" retry.out

make_random_file retry.in 8 4321
run_plugin --filter=retry path="$remote" \
    --run 'nbdcopy --flush retry.in "$uri"'
cmp retry.in "$remote"

# ----------------------------------------------------------------------
# cow: writes go to the local overlay only.
make_random_file "$remote" 4 999
cp "$remote" orig.img
run_plugin --filter=cow path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-filters-cow.py" "$uri"'
# The remote file is untouched.
test "$(stat -c %s "$remote")" -eq "$(stat -c %s orig.img)"
cmp orig.img "$remote"

# ----------------------------------------------------------------------
# cache: read twice, then a write through the writeback cache + flush.
make_random_file "$remote" 8 1
rm -f cache1.out cache2.out
run_plugin --filter=cache path="$remote" \
    --run 'nbdcopy "$uri" cache1.out && nbdcopy "$uri" cache2.out'
cmp "$remote" cache1.out
cmp "$remote" cache2.out

make_random_file cache.in 8 1
run_plugin --filter=cache path="$remote" \
    --run 'nbdcopy --flush cache.in "$uri" && nbdcopy "$uri" cache3.out'
cmp cache.in cache3.out
cmp cache.in "$remote"

# ----------------------------------------------------------------------
# readahead: sequential reads.
make_random_file "$remote" 6 555
run_plugin --filter=readahead path="$remote" \
    --run 'nbdcopy --connections=1 --requests=1 "$uri" ra.out'
cmp "$remote" ra.out

run_plugin --filter=readahead path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-filters-readahead.py" "$uri" '"$remote"

# ----------------------------------------------------------------------
# partition: an MBR with two partitions, made locally with sfdisk.
rm -f part.img
truncate -s 24M part.img
sfdisk --no-reread --no-tell-kernel part.img <<'EOF'
label: dos
start=2048, size=20480, type=83
start=22528, type=83
EOF
sfdisk --json part.img > part.json
cat part.json
read -r p1_start p1_size p2_start p2_size < <(/usr/bin/python3 -c '
import json
t = json.load(open("part.json"))["partitiontable"]
assert t["label"] == "dos" and t["sectorsize"] == 512, t
p = t["partitions"]
assert len(p) == 2, p
print(p[0]["start"], p[0]["size"], p[1]["start"], p[1]["size"])
')
test "$p1_start" -eq 2048 && test "$p1_size" -eq 20480
test "$p2_start" -eq 22528 && test "$p2_size" -eq 26624
# Random data in both partitions (and in the gap before partition 1, which
# the partition filter must not show).
head -c $(( (p1_start - 1) * 512 )) /dev/urandom |
    dd of=part.img bs=512 seek=1 conv=notrunc status=none
head -c $(( p1_size * 512 )) /dev/urandom |
    dd of=part.img bs=512 seek="$p1_start" conv=notrunc status=none
head -c $(( p2_size * 512 )) /dev/urandom |
    dd of=part.img bs=512 seek="$p2_start" conv=notrunc status=none
test "$(stat -c %s part.img)" -eq $(( 24 * 1024 * 1024 ))
sfdisk --dump part.img            # the table survived
cp part.img "$remote"
dd if=part.img of=p1.want bs=512 skip="$p1_start" count="$p1_size" status=none
dd if=part.img of=p2.want bs=512 skip="$p2_start" count="$p2_size" status=none

for n in 1 2; do
    run_plugin -r --filter=partition \
        path="$remote" partition="$n" \
        --run 'nbdinfo --size "$uri" && nbdcopy "$uri" p'"$n"'.out' > p$n.size
    test "$(cat p$n.size)" -eq "$(stat -c %s p$n.want)"
    cmp p$n.want p$n.out
done

# A write to partition 2 changes exactly its bytes in the remote file.
head -c $(( p2_size * 512 )) /dev/urandom > p2.new
run_plugin --filter=partition \
    path="$remote" partition=2 \
    --run 'nbdcopy --flush p2.new "$uri"'
cp part.img part.want
dd if=p2.new of=part.want bs=512 seek="$p2_start" conv=notrunc status=none
test "$(stat -c %s "$remote")" -eq "$(stat -c %s part.want)"
cmp part.want "$remote"
