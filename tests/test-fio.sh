#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# fio with its nbd engine (libnbd) against the export, with
# verify=crc32c:
#   1. random writes of random sizes (512 B .. 256 KiB, 16 in flight) through
#      NBD, read back and verified by fio through NBD in the same job;
#   2. the remote file itself then verified by fio's psync engine
#      (verify_only: the same job, regenerating the expected blocks), so
#      the data is checked where it landed, not only through the plugin;
#   3. the other way: the same job written locally with psync, the file
#      copied to the server, verified through NBD (verify_only).
# A corrupted block is checked to make the psync verification fail, so
# the verification cannot silently check nothing.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires fio truncate dd
requires_run "fio nbd engine" fio --enghelp=nbd
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
rm -f "$remote"
truncate -s 16M "$remote"

# The job.  The engine and target are given on the command line; the
# random offsets, sizes and data depend only on the seed, so the same job
# run later with verify_only regenerates exactly what it wrote.
cat > verify.fio <<'EOF'
[global]
size=16m
rw=randwrite
bsrange=512-256k
blockalign=512
iodepth=16
randrepeat=1
randseed=20240611
verify=crc32c
verify_fatal=1
verify_state_save=0
exitall_on_error=1

[sshverify]
EOF

# run_fio ARGS...: fio, bounded, with its output shown; the status is
# fio's (non-zero on any I/O or verification error).
run_fio ()
{
    local r=0
    timeout "$NBDKIT_TIMEOUT" fio "$@" > fio.out 2>&1 || r=$?
    cat fio.out
    if [ "$r" -ne 0 ]; then
        echo "FAIL: fio $* exited with status $r" >&2
        return 1
    fi
    fio_ok
}

# fio_ok: fail unless fio.out is free of errors.
fio_ok ()
{
    if grep -q -e 'verify: bad' -e 'verify failed' -e 'err= *[1-9]' fio.out; then
        echo "FAIL: fio reported errors" >&2
        return 1
    fi
}

# 1. Write + verify through NBD.
run_plugin path="$remote" \
    --run 'fio --ioengine=nbd --uri="$uri" verify.fio > fio.out 2>&1' ||
    { cat fio.out; exit 1; }
cat fio.out
fio_ok
# fio did write and read (verify) something.
grep -q 'WRITE: bw=' fio.out
grep -q 'READ: bw=' fio.out
test "$(stat -c %s "$remote")" -eq $((16 * 1024 * 1024))

# 2. The remote file itself, verified locally.
run_fio --ioengine=psync --filename="$remote" --verify_only verify.fio

# ... and that check does fail on a corrupted copy.
cp "$remote" corrupt.img
offset=$(( 7 * 1024 * 1024 + 4096 ))
dd if=/dev/urandom of=corrupt.img bs=1 seek="$offset" count=16 conv=notrunc status=none
r=0
timeout "$NBDKIT_TIMEOUT" fio --ioengine=psync --filename=corrupt.img \
    --verify_only verify.fio > fio-corrupt.out 2>&1 || r=$?
cat fio-corrupt.out
if [ "$r" -eq 0 ] || [ "$r" -eq 124 ] || [ "$r" -eq 137 ] ||
       ! grep -q -e 'verify: bad' -e 'verify failed' fio-corrupt.out; then
    echo "FAIL: fio verify_only did not report the corrupted block" >&2
    exit 1
fi
rm -f corrupt.img

# 3. Written locally, verified through NBD.
rm -f local.img
truncate -s 16M local.img
run_fio --ioengine=psync --filename=local.img verify.fio
cp local.img "$remote"
run_plugin -r path="$remote" \
    --run 'fio --ioengine=nbd --uri="$uri" --verify_only verify.fio > fio.out 2>&1' ||
    { cat fio.out; exit 1; }
cat fio.out
fio_ok
grep -q 'READ: bw=' fio.out
