#!/usr/bin/env bash
# The jump host forwarder waits only for what can make progress: after
# a sequential read (read-ahead replies keep arriving and fill the
# forwarder's socketpair while the client does nothing), an idle
# client costs nbdkit (almost) no CPU.  It used to spin at 100% of a
# core, polling a readable socket it would not read.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python
exclusive_test "$@"
start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 32

run_plugin -P "$SSHD_DIR/nbdkit.pid" path="$SSHD_DIR/disk.img" \
    jump="127.0.0.1:$SSHD_PORT" \
    --run '
        /usr/bin/nbdsh -u "$uri" -c "
import os, time
pid = open(\"$SSHD_DIR/nbdkit.pid\").read().strip()
def cpu():
    # user + system CPU seconds of nbdkit (fields 14 and 15).
    f = open(\"/proc/%s/stat\" % pid).read().rsplit(\")\", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf(\"SC_CLK_TCK\")
# 4 MiB read sequentially: read-ahead asks for more.
data = b\"\".join(h.pread(256 * 1024, off) for off in range(0, 4 << 20, 256 * 1024))
assert data == open(\"$SSHD_DIR/disk.img\", \"rb\").read(4 << 20)
time.sleep(1)
before = cpu()
time.sleep(5)
used = cpu() - before
print(\"nbdkit CPU while idle for 5 s: %.2f s\" % used)
assert used < 1.0, \"the forwarder spins: %.2f s of CPU in 5 s idle\" % used
# And the connection still works.
assert h.pread(65536, 8 << 20) == open(\"$SSHD_DIR/disk.img\", \"rb\").read()[8 << 20:(8 << 20) + 65536]
"'
