#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# A slow or stalled SFTP server (tests/fake-sftp-server.py) cannot hang
# the plugin: a server that answers one reply a second is slow but
# right; one that never answers INIT or READ, or stops in the middle of
# a reply, gives a clear error within timeout= (and the reconnect of
# retries=1), and the same nbdkit serves again once the server behaves.
# See test-hostile-server.sh for the faults that do not stall.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
exclusive_test
set -x

requires nbdinfo timeout
requires_libnbd_python

work="$(mktemp -d /tmp/hostile-stall.XXXXXX)"
cleanup_fn rm -rf "$work"
export MODEFILE="$work/mode" DISK="$work/disk.img"
echo normal > "$MODEFILE"
start_sshd "Subsystem sftp /usr/bin/python3 $srcdir/fake-sftp-server.py $MODEFILE"
cd "$work"
make_random_file disk.img 0 300000

# Valgrind makes every step slower; the bounds below are for timeout=3.
case "${SSH_PLUGIN_CHECK:-}" in
    valgrind) slack=60 ;;
    *) slack=0 ;;
esac

# check MODE EXPECT MAX_SECONDS [MESSAGE...]: as in
# test-hostile-server.sh, with the faulty part bounded by MAX_SECONDS.
# "slow" is set before the client connects (its handshake is slow too).
check ()
{
    local mode="$1" expect="$2" max="$3"
    shift 3
    case "$mode" in
        slow) echo "$mode" > "$MODEFILE" ;;
        *) echo normal > "$MODEFILE" ;;
    esac
    : > "$MODEFILE.log"
    MAX_SECONDS=$(( max + slack )) \
    run_plugin timeout=3 retries=1 path="$DISK" \
        --run "/usr/bin/python3 $srcdir/hostile-client.py \"\$uri\" $mode $expect" \
        2> "err-$mode.txt" || {
        cat "err-$mode.txt" >&2
        echo "FAIL: mode $mode" >&2
        return 1
    }
    cat "err-$mode.txt" >&2
    grep -q -F "fired $mode" "$MODEFILE.log" ||
        { echo "FAIL: the fault $mode never fired" >&2; return 1; }
    [ "$#" -eq 0 ] || expect_grep "err-$mode.txt" "$@"
}

# One reply a second: each wait is shorter than timeout=3, so the
# requests succeed, slowly.
check slow small 30

# READ never answered, or half a reply and then nothing: two timeouts
# (the first attempt and the one of retries=1), then EIO.
check hang-read eio 12 "timed out"
check truncated-stall eio 12 "timed out"

# INIT never answered: the client's connection fails within timeout=3.
echo hang-init > "$MODEFILE"
start="$SECONDS"
run_plugin_fail err-init.txt timeout=3 path="$DISK" --run 'nbdinfo "$uri"'
elapsed=$(( SECONDS - start ))
echo "hang-init: $elapsed s" >&2
[ "$elapsed" -le $(( 20 + slack )) ] ||
    { echo "FAIL: hang-init took $elapsed s" >&2; exit 1; }
expect_grep err-init.txt "SFTP handshake" "timed out"
echo normal > "$MODEFILE"
