#!/usr/bin/env bash
# Soak: 16 NBD connections (16 processes, one libnbd handle each) do
# random reads and writes (1 B .. 256 KiB at random offsets) for
# SOAK_SECONDS (default 20), each verified against a model: every
# connection reads and writes only its own 4 MiB region (so the model is
# exact without locking) and also reads a shared 8 MiB region that
# nobody writes.  No mismatch is allowed; afterwards the whole remote
# file must equal the model.  nbdkit's open file descriptors and RSS are
# sampled during the first and the last 10 s of the run (a quarter of
# runs shorter than 40 s): the fd count
# must not grow and RSS must not grow by 16 MiB or more (64 MiB under
# valgrind and ASan, whose allocators keep freed memory: ASan's 256 MiB
# quarantine made RSS creep 393 -> 409 MiB over 60 s in CI while the
# plain build stayed flat at 34 MiB).

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires_libnbd_python
start_sshd
cd "$SSHD_DIR"

: "${SOAK_SECONDS:=20}"
conns=16
remote="$SSHD_DIR/disk.img"
# 16 regions of 4 MiB, then the shared 8 MiB.
make_random_file "$remote" $(( conns * 4 + 8 ))

rss_slack=16
case "${SSH_PLUGIN_CHECK:-}" in
    valgrind|asan) rss_slack=64 ;;
esac
# ASan keeps freed memory in a 256 MiB quarantine: RSS climbs until it
# is full, at the pace of the plugin's frees, so with few frees (the
# data path allocates nothing in steady state) it is still climbing
# in the last window.  A small quarantine lets the RSS check see the
# plugin's memory.
export ASAN_EXTRA_OPTIONS=quarantine_size_mb=16

export REMOTE="$remote" PIDFILE="$SSHD_DIR/nbdkit.pid" SOAK_SECONDS \
       CONNS="$conns" RSS_SLACK="$rss_slack"
run_plugin -P "$PIDFILE" path="$remote" \
    --run '/usr/bin/python3 "$srcdir/test-soak.py" "$uri"' 2> nbdkit.err || {
    cat nbdkit.err; exit 1; }
cat nbdkit.err
# Nothing went wrong on the way: no error, no reconnect.
if grep -E "error|reconnect" nbdkit.err; then
    echo "FAIL: nbdkit reported errors during the soak"; exit 1
fi
