#!/usr/bin/env bash
# A file truncated by someone else under a reader: a read past the new
# end of the file is an error (EIO), never zeros; reads before it still
# work.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires truncate
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 4

cat > truncate.py <<'PYEOF'
import errno, os, sys
import nbd

remote = os.environ["REMOTE"]
with open(remote, "rb") as f:
    model = f.read()
h = nbd.NBD()
h.connect_uri(sys.argv[1])
if h.pread(4096, 0) != model[0:4096]:
    sys.exit("FAIL: first read differs")
os.truncate(remote, 2 * 1024 * 1024)
try:
    buf = h.pread(4096, 3 * 1024 * 1024)
    sys.exit("FAIL: read past the new end returned %d bytes (zeros: %s)"
             % (len(buf), buf == bytes(4096)))
except nbd.Error as e:
    if e.errnum != errno.EIO:
        sys.exit("FAIL: expected EIO, got %s" % e)
    print("read past the new end failed as expected: %s" % e)
# A read that straddles the new end fails too.
try:
    h.pread(8192, 2 * 1024 * 1024 - 4096)
    sys.exit("FAIL: read across the new end succeeded")
except nbd.Error as e:
    print("read across the new end failed as expected: %s" % e)
if h.pread(4096, 1024 * 1024) != model[1024 * 1024:1024 * 1024 + 4096]:
    sys.exit("FAIL: read before the new end differs")
print("truncate: ok")
PYEOF

export REMOTE="$remote"
run_plugin path="$remote" \
    --run '/usr/bin/python3 truncate.py "$uri"' 2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
expect_grep nbdkit.err "unexpected end of file" "$remote"
