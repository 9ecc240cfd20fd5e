#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# channels=: write-behind WRITEs spread over several SFTP channels of
# one SSH session (on a long link; forced here with channels=N, as the
# loopback round trip asks for one).
#
# 1. Bad values are refused with a message naming the parameter.
# 2. channels=4: one SSH session, four sftp-servers; 24 MiB written
#    by nbdcopy land byte for byte.
# 3. Overlapping writes in quick succession (each acknowledged at once)
#    land in the order they were made, though they may go on different
#    channels; reads in between see them (read your writes).
# 4. multi-conn with channels=3: nbdcopy over 4 connections.
# 5. A channel's sftp-server killed while writes are in flight: the
#    session reconnects and the writes are sent again; the first flush
#    reports that acknowledged writes may be lost (EIO), the next one
#    succeeds, and the file is right.
# 6. A warm session (idle-keep=) whose file was replaced by rename: the
#    next client's writes go to the new file on every channel (each
#    channel opens the path again).
# 7. channels=auto over a 100 ms round trip (bench/delay-proxy): four
#    channels in all, and the data right.
# 8. Four channels through a ProxyCommand (ssh -W): writes and reads
#    back (a peer that reads only as we read).

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy cmp ssh
requires_libnbd_python
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

sessions () { grep -c "Starting session: subsystem 'sftp'" "$SSHD_LOG" || :; }
logins () { grep -c "Accepted publickey" "$SSHD_LOG" || :; }

# --- 1. Bad values.
for bad in 0 17 abc -1 1.5; do
    run_plugin_fail bad.log path="$remote" channels=$bad --run true
    expect_grep bad.log "channels=$bad"
done
run_plugin_fail bad.log path="$remote" channels=2 channels=3 --run true
expect_grep bad.log "channels"

# --- 2. Four channels, one session.
truncate -s 24M "$remote"
make_random_file local.img 24
s0=$(sessions) l0=$(logins)
run_plugin -v -D ssh.log=1 path="$remote" channels=4 idle-keep=0 \
    --run 'nbdcopy --connections=1 --flush local.img "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
compare_sha256 local.img "$remote"
[ $(( $(logins) - l0 )) -eq 1 ]
[ $(( $(sessions) - s0 )) -eq 4 ]
[ "$(grep -c "SFTP channel [0-9] for writes to .* ready" nbdkit.err)" -eq 3 ]

# --- 3. Overlapping writes, read your writes.
cat > overlap.py <<'PYEOF'
import os, random, sys, nbd
uri, path = sys.argv[1], sys.argv[2]
rng = random.Random(1234)
size = 4 << 20
h = nbd.NBD()
h.connect_uri(uri)
model = bytearray(h.pread(size, 0))
# Wait until the other channels are ready: writes before that go on
# the first one only.
h.pwrite(b"\0" * 4096, 0)
model[0:4096] = b"\0" * 4096
import time
time.sleep(2)
for i in range(600):
    # A 64 KiB area written over and over, by writes of every size.
    off = rng.randrange(0, 1 << 20)
    n = rng.choice([512, 4096, 65536, 200000, 261120, 300000])
    data = rng.randbytes(n)
    h.pwrite(data, off)
    model[off:off + n] = data
    if i % 50 == 49:
        o = rng.randrange(0, 1 << 20)
        got = h.pread(262144, o)
        assert got == bytes(model[o:o + 262144]), "read %d: stale data at %d" % (i, o)
h.flush()
with open(path, "rb") as f:
    disk = f.read(size)
assert disk == bytes(model), "file differs after flush at byte %d" % \
    next(i for i in range(size) if disk[i] != model[i])
assert h.pread(size, 0) == bytes(model)
h.shutdown()
print("overlap: ok")
PYEOF
truncate -s 4M "$remote"
run_plugin -v -D ssh.log=1 path="$remote" channels=4 \
    --run "/usr/bin/python3 overlap.py \"\$uri\" $remote" 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
[ "$(grep -c "SFTP channel [0-9] for writes to .* ready" nbdkit.err)" -eq 3 ]

# --- 4. multi-conn.
truncate -s 64M "$remote"
make_random_file local.img 64
run_plugin path="$remote" channels=3 \
    --run 'nbdcopy --connections=4 --flush local.img "$uri"'
compare_sha256 local.img "$remote"

# --- 5. A channel's sftp-server killed during writes.
truncate -s 16M "$remote"
make_random_file local.img 16
cat > kill.py <<'PYEOF'
import errno, os, signal, sys, time, nbd
sys.path.insert(0, os.environ["srcdir"])
import sshdprocs
uri = sys.argv[1]
h = nbd.NBD()
h.connect_uri(uri)
data = open("local.img", "rb").read()
h.pwrite(data[:1 << 20], 0)
for _ in range(100):                      # the four channels
    if len(sshdprocs.sftp_servers()) >= 4:
        break
    time.sleep(0.1)
servers = sshdprocs.sftp_servers()
assert len(servers) >= 4, servers
step = 1 << 20
for off in range(1 << 20, len(data), step):
    h.pwrite(data[off:off + step], off)
    if off == 8 << 20:
        os.kill(max(servers), signal.SIGKILL)
# Writes the server had acknowledged but not fsynced when the session
# broke may be lost: the first flush says so (EIO), once.
try:
    h.flush()
    sys.exit("FAIL: the flush after the session broke succeeded")
except nbd.Error as e:
    assert e.errnum == errno.EIO, e
h.flush()
assert h.pread(len(data), 0) == data
h.shutdown()
print("kill: ok")
PYEOF
run_plugin -v -D ssh.log=1 path="$remote" channels=4 idle-keep=0 \
    --run '/usr/bin/python3 kill.py "$uri"' 2> nbdkit.err || {
    tail -60 nbdkit.err; exit 1; }
compare_sha256 local.img "$remote"
expect_grep nbdkit.err "sending again"

# --- 6. Warm session, file replaced: every channel opens it again.
make_random_file "$remote" 8
make_random_file new.img 8
chmod --reference="$remote" new.img
cp new.img final.expect
dd if=local.img of=final.expect bs=1M count=4 seek=2 conv=notrunc status=none
cat > replaced.sh <<'SHEOF'
#!/bin/sh
set -e
# Writes (the session gets its channels), then the session is kept warm.
nbdsh -u "$1" -c 'h.pwrite(b"\1" * 65536, 0)' -c 'import time; time.sleep(2)' \
    -c 'h.flush()'
touch -r disk.img new.img
mv new.img disk.img
# 4 MiB at 2 MiB over every channel of the warm session.
nbdsh -u "$1" -c 'h.pwrite(open("local.img", "rb").read(4 << 20), 2 << 20)' \
    -c 'h.flush()'
SHEOF
chmod +x replaced.sh
s0=$(sessions)
run_plugin -v -D ssh.log=1 path="$remote" channels=4 idle-keep=30 \
    --run './replaced.sh "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
expect_grep nbdkit.err "disk.img opened again)"
# One session of four channels served both clients.
[ $(( $(sessions) - s0 )) -eq 4 ]
cmp final.expect "$remote"

# --- 7. channels=auto over a 100 ms round trip (bench/delay-proxy, 50 ms
# each way): three more channels, set up while the writes go on.
delay_proxy="${abs_top_builddir:-$srcdir/..}/bench/delay-proxy"
if [ ! -x "$delay_proxy" ]; then
    requires cc
    delay_proxy="$SSHD_DIR/delay-proxy"
    cc -std=gnu11 -O2 -pthread -o "$delay_proxy" "$srcdir/../bench/delay-proxy.c"
fi
"$delay_proxy" 0 127.0.0.1 "$SSHD_PORT" 50 > delay.out 2> delay.err &
delay_pid=$!
cleanup_fn kill "$delay_pid"
for (( i = 0; i < 100; ++i )); do
    dport="$(sed -n 's/^port \([0-9]*\)$/\1/p' delay.out)"
    [ -z "$dport" ] || break
    sleep 0.1
done
[ -n "$dport" ]
sed -n "s/^\[127.0.0.1\]:$SSHD_PORT /[127.0.0.1]:$dport /p" "$KNOWN_HOSTS" \
    > delay_known_hosts
[ -s delay_known_hosts ]
truncate -s 8M "$remote"
make_random_file local.img 8
run_nbdkit -v -D ssh.log=1 -U - "$PLUGIN" host=127.0.0.1 port="$dport" \
    known-hosts="$PWD/delay_known_hosts" path="$remote" idle-keep=0 \
    --run 'nbdcopy --connections=1 --flush local.img "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
compare_sha256 local.img "$remote"
expect_grep nbdkit.err "opening 3 more SFTP channels"

# --- 8. Four channels through a ProxyCommand (ssh -W, which reads its
# input only as we read its output): 8 MiB written and read back.  A
# read that took over the half-sent packet of another call hung here
# until the timeout.
write_proxy_command_config pc.conf
truncate -s 8M "$remote"
make_random_file local.img 8
run_nbdkit -U - "$PLUGIN" config="$SSHD_DIR/pc.conf" host=viaproxy \
    known-hosts="$KNOWN_HOSTS" path="$remote" channels=4 timeout=30 \
    --run 'nbdcopy --flush local.img "$uri" && nbdcopy "$uri" back.img'
compare_sha256 local.img "$remote"
compare_sha256 local.img back.img
