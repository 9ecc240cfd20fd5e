#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# libguestfs over the export: a Linux appliance (qemu, TCG) partitions an
# empty 128 MiB remote file, makes an ext4 filesystem, writes files and
# syncs; a second, read-only launch (nbdkit -r, guestfish --ro) lists the
# filesystems and reads the files back, compared byte for byte.  The
# remote file is also checked without the plugin: its MBR, and the files
# read from a local copy of the partition with debugfs.
#
# Environment: LIBGUESTFS_BACKEND=direct (no libvirt), and
# LIBGUESTFS_BACKEND_SETTINGS=force_tcg: KVM, where present, can fail on
# some hosts (an MSR qemu cannot set); TCG always works, ~12 s a launch.
# libguestfs 1.48 takes "nbd://?socket=PATH" (not nbd+unix://, nor
# nbdkit's $uri).  The appliance is built by supermin on first use
# (cached in /var/tmp/.guestfs-$UID); that needs the kernel in /boot to
# be readable, i.e. root on Debian.

set -e
# Each nbdkit run holds a whole appliance launch (and the first one may
# build the appliance): allow more than the harness's default.
if [ -z "${NBDKIT_TIMEOUT:-}" ]; then
    case "${SSH_PLUGIN_CHECK:-}" in
        valgrind) NBDKIT_TIMEOUT=1800 ;;
        *)        NBDKIT_TIMEOUT=900 ;;
    esac
fi
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires guestfish libguestfs-test-tool debugfs sfdisk cmp truncate \
         /usr/bin/python3
export LIBGUESTFS_BACKEND=direct
export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
unset LIBGUESTFS_DEBUG LIBGUESTFS_TRACE

# Bound every launch (nbdkit's own timeout bounds the whole --run too).
gf_timeout=$(( NBDKIT_TIMEOUT - 30 ))
[ "$gf_timeout" -ge 60 ] || gf_timeout=60

# The kernel supermin puts in the appliance must be readable.
if ! compgen -G '/boot/vmlinuz-*' >/dev/null; then
    _skip_or_fail "no kernel in /boot for the libguestfs appliance (install linux-image-amd64)"
fi
for k in /boot/vmlinuz-*; do
    [ -r "$k" ] || _skip_or_fail "$k is not readable (libguestfs needs it; run as root)"
done

start_sshd
cd "$SSHD_DIR"

# gf_diagnose: after a failed launch, show why (libguestfs-test-tool
# runs a launch with full debugging).
gf_diagnose ()
{
    echo "===== libguestfs-test-tool (diagnosis) =====" >&2
    timeout 600 libguestfs-test-tool 2>&1 | tail -n 60 >&2 || :
}

remote="$SSHD_DIR/disk.img"
rm -f "$remote"
truncate -s 128M "$remote"

make_random_file data.bin 1 321           # 1 MiB + 321 bytes
printf 'hello from nbdkit-ssh-plugin\nline 2\n' > hello.txt

# Launch 1: read-write.
cat > write.gf <<'EOF'
run
part-disk /dev/sda mbr
mkfs ext4 /dev/sda1 label:sshtest
mount /dev/sda1 /
mkdir /dir
upload data.bin /dir/data.bin
upload hello.txt /hello.txt
sync
umount-all
EOF
r=0
run_plugin path="$remote" \
    --run 'timeout '"$gf_timeout"' guestfish --format=raw -a "nbd://?socket=$unixsocket" -f write.gf' || r=$?
if [ "$r" -ne 0 ]; then
    echo "FAIL: guestfish (read-write) failed with status $r" >&2
    gf_diagnose
    exit 1
fi
test "$(stat -c %s "$remote")" -eq $((128 * 1024 * 1024))

# The remote file, without the plugin: an MBR with one Linux partition,
# and an ext4 filesystem in it holding the files.
sfdisk --json "$remote" > part.json
cat part.json
read -r p1_start p1_size < <(/usr/bin/python3 -c '
import json
t = json.load(open("part.json"))["partitiontable"]
assert t["label"] == "dos", t
p = t["partitions"]
assert len(p) == 1 and p[0]["type"] == "83", p
print(p[0]["start"], p[0]["size"])
')
dd if="$remote" of=p1.img bs=512 skip="$p1_start" count="$p1_size" status=none
debugfs -R 'stats' p1.img > stats.txt 2>&1
grep -q 'Filesystem volume name:   sshtest' stats.txt || { cat stats.txt; exit 1; }
grep -q 'Filesystem features:.*extent' stats.txt || { cat stats.txt; exit 1; }
rm -f p1.data.bin p1.hello.txt
debugfs -R 'dump /dir/data.bin p1.data.bin' p1.img
debugfs -R 'dump /hello.txt p1.hello.txt' p1.img
cmp data.bin p1.data.bin
cmp hello.txt p1.hello.txt
rm -f p1.img

# Launch 2: read-only export, read-only guestfish.
sha_before="$(sha256sum < "$remote")"
cat > read.gf <<'EOF'
run
list-filesystems
echo ----
vfs-type /dev/sda1
vfs-label /dev/sda1
echo ----
mount-ro /dev/sda1 /
ls /dir
download /dir/data.bin data.out
download /hello.txt hello.out
cat /hello.txt
EOF
rm -f data.out hello.out
r=0
run_plugin -r path="$remote" \
    --run 'timeout '"$gf_timeout"' guestfish --ro --format=raw -a "nbd://?socket=$unixsocket" -f read.gf' \
    > read.out || r=$?
cat read.out
if [ "$r" -ne 0 ]; then
    echo "FAIL: guestfish (read-only) failed with status $r" >&2
    gf_diagnose
    exit 1
fi
# (guestfish's cat prints the file and then a newline.)
cat > read.want <<EOF
/dev/sda1: ext4
----
ext4
sshtest
----
data.bin
$(cat hello.txt)

EOF
cmp read.want read.out
cmp data.bin data.out
cmp hello.txt hello.out
# The read-only launch did not change the remote file.
test "$(sha256sum < "$remote")" = "$sha_before"
