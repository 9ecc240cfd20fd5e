#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# A broken or hostile SFTP server cannot crash, hang or fool the plugin:
# the test sshd's sftp subsystem is tests/fake-sftp-server.py, and for
# each of its fault modes a connected client (tests/hostile-client.py)
# gets either the right data or a clear error, quickly; the same nbdkit
# then serves the whole file correctly once the server behaves, and
# valgrind/ASan (SSH_PLUGIN_CHECK) see no bad access.  The modes that
# stall are in test-hostile-stall.sh.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo nbdcopy
requires_libnbd_python

work="$(mktemp -d /tmp/hostile.XXXXXX)"
cleanup_fn rm -rf "$work"
export MODEFILE="$work/mode" DISK="$work/disk.img"
echo normal > "$MODEFILE"
start_sshd "Subsystem sftp /usr/bin/python3 $srcdir/fake-sftp-server.py $MODEFILE"
cd "$work"
make_random_file disk.img 1 4321

# expect_fired MODE: the server's log shows that MODE's fault happened
# (so that a test cannot pass without exercising it).
expect_fired ()
{
    if ! grep -q -F "fired $1" "$MODEFILE.log"; then
        echo "FAIL: the fault $1 never fired; the server's log:" >&2
        cat "$MODEFILE.log" >&2 || :
        return 1
    fi
}

# no_raw_control FILE: no control character but newline in nbdkit's
# lines of FILE (the client tools' own lines show what they were given).
no_raw_control ()
{
    if grep -v -a -E '^(nbdinfo|nbdcopy|nbdsh): ' "$1" |
            LC_ALL=C grep -n -a -P '[\x00-\x09\x0b-\x1f\x7f]' >&2; then
        echo "FAIL: raw control characters in $1 (lines above)" >&2
        return 1
    fi
}

# check MODE EXPECT [MESSAGE...]: a client connects in normal mode, the
# server switches to MODE, the client expects EXPECT (see
# hostile-client.py), then reads the whole file back in normal mode.
# nbdkit's stderr must contain every MESSAGE.
check ()
{
    local mode="$1" expect="$2"
    shift 2
    # The handshake's faults must be there when the client connects.
    case "$mode" in
        version-*|stat-*|no-fsync) echo "$mode" > "$MODEFILE" ;;
        *) echo normal > "$MODEFILE" ;;
    esac
    : > "$MODEFILE.log"
    MAX_SECONDS=20 MAX_RSS_MB=200 \
    run_plugin timeout=10 retries=1 path="$DISK" \
        --run "/usr/bin/python3 $srcdir/hostile-client.py \"\$uri\" $mode $expect" \
        2> "err-$mode.txt" || {
        cat "err-$mode.txt" >&2
        echo "FAIL: mode $mode" >&2
        return 1
    }
    cat "err-$mode.txt" >&2
    case "$mode" in
        normal) ;;
        *) expect_fired "$mode" ;;
    esac
    [ "$#" -eq 0 ] || expect_grep "err-$mode.txt" "$@"
    no_raw_control "err-$mode.txt"
}

# A correct server: everything works (the fake server itself is right).
check normal data

# Replies the plugin must cope with: data still right.
check short-read data

# Replies the plugin must refuse, with a clear error (the connection is
# then reconnected, and fails again with retries=1).
check long-data eio "bad DATA reply"
check unknown-id eio "reply (type 103) to unknown request"
check huge-length eio "packet of 2147483632 bytes"
check huge-string eio "bad DATA reply"
check short-packet eio "short packet"
check truncated-exit eio "closed the SFTP channel"
check eof-inside eio@600000 "unexpected end of file"
check write-fail write-eio "write failed"
check ctrl-status eio 'evil\x1b[2J\x1b[31m red\r\nfake: line\x07\x00end\x7f'
check ctrl-status write-eio 'evil\x1b[2J'

# The handshake: garbage after VERSION shorter than one extension pair
# (4 to 7 bytes), more extensions than anyone needs, extension names
# with control characters.  The connection works.
for n in 4 5 6 7; do
    check "version-garbage-$n" data
done
check version-many-ext data

# The size comes from the STAT sent with OPEN; when the STAT fails or
# does not say a regular file, from FSTAT of the handle.
check stat-fail data
check stat-dir data

# A server without fsync@openssh.com: the client cannot flush, and a
# flush is what reports a failed write-behind write, so each write
# waits for the server and a refused one fails at once.
check no-fsync write-eio-now "write failed"

# Debug output shows server text escaped too.
echo version-ctrl-ext > "$MODEFILE"
: > "$MODEFILE.log"
run_plugin -v -D ssh.log=1 timeout=10 path="$DISK" \
    --run 'nbdcopy "$uri" copy.img' 2> err-ctrl-ext.txt
cmp disk.img copy.img
expect_fired version-ctrl-ext
expect_grep err-ctrl-ext.txt 'evil\x1b[31m@example.com'
no_raw_control err-ctrl-ext.txt

# Many extensions: each handshake's debug output lists at most 64.
echo version-many-ext > "$MODEFILE"
run_plugin -v -D ssh.log=1 timeout=10 path="$DISK" \
    --run 'nbdinfo "$uri"' 2> err-many-ext.txt > /dev/null
expect_grep err-many-ext.txt "extensions ignored"
n="$(grep -c 'server extension ' err-many-ext.txt || :)"
h="$(grep -c 'extensions ignored' err-many-ext.txt || :)"
[ "$n" -le $(( h * 64 )) ] ||
    { echo "FAIL: $n extensions logged in $h handshakes" >&2; exit 1; }

# A server too old to talk to: a clear error when the client connects.
echo version-old > "$MODEFILE"
run_plugin_fail err-old.txt timeout=10 path="$DISK" --run 'nbdinfo "$uri"'
expect_grep err-old.txt "SFTP version 2"

# VERSION and a bad packet in the same read: a clear error, and the
# VERSION reply is not leaked (valgrind).
echo version-bad-next > "$MODEFILE"
: > "$MODEFILE.log"
run_plugin_fail err-bad-next.txt timeout=10 retries=0 path="$DISK" \
    --run 'nbdinfo "$uri"'
expect_fired version-bad-next
expect_grep err-bad-next.txt "packet of 2147483632 bytes"

# An error opening the file, in the server's words (escaped).
echo ctrl-status > "$MODEFILE"
run_plugin_fail err-open.txt timeout=10 path="$DISK" --run 'nbdinfo "$uri"'
expect_grep err-open.txt "permission denied" 'evil\x1b[2J'
no_raw_control err-open.txt
echo normal > "$MODEFILE"
