#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# dir= against names and listings a server chooses:
# - file names with control characters or that are not UTF-8 (real
#   files, OpenSSH's sftp-server) are neither listed nor served, and
#   reach the logs only escaped; other UTF-8 names work;
# - a READDIR that never ends (tests/fake-sftp-server.py: 100 new names
#   in each reply, or empty replies) stops with a clear error, quickly
#   and with bounded memory;
# - a file swapped for a symlink between the plugin's LSTAT and its OPEN
#   (fake server: swap-on-open) is refused, not served.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo nbdcopy cmp timeout
requires_libnbd_python

work="$(mktemp -d /tmp/hostile-dir.XXXXXX)"
cleanup_fn rm -rf "$work"
export MODEFILE="$work/mode"
cd "$work"
mkdir exp
make_random_file exp/good.img 1
make_random_file "exp/café.img" 0 70000
/usr/bin/python3 "$srcdir/test-hostile-dir-names.py"

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

# ---- Names, from OpenSSH's sftp-server. ----
start_sshd

run_plugin -v -D ssh.log=1 dir="$work/exp" \
    --run 'nbdinfo --list --json "$uri"' > list.json 2> err-list.txt
/usr/bin/python3 "$srcdir/test-hostile-dir-list.py"
expect_grep err-list.txt 'skipping esc\x1b[31m.img' 'skipping nl\nname.img' \
    'skipping bad-\xff.img' 'skipping c1-\xc2\x9b.img'
no_raw_control err-list.txt

# A name that is not listed cannot be opened either; its escaped form
# is another (missing) file.
run_plugin_fail err-open.txt dir="$work/exp" \
    --run 'nbdinfo "nbd+unix:///esc%1B%5B31m.img?socket=$unixsocket"'
expect_grep err-open.txt 'esc\x1b[31m.img' "is not the name of a file"
no_raw_control err-open.txt
run_plugin_fail err-open2.txt dir="$work/exp" \
    --run 'nbdinfo "nbd+unix:///esc%5Cx1b%5B31m.img?socket=$unixsocket"'
expect_grep err-open2.txt "no such file"

# UTF-8 names and backslashes are served.
run_plugin dir="$work/exp" --run '
    nbdcopy "nbd+unix:///caf%C3%A9.img?socket=$unixsocket" cafe.out &&
    nbdcopy "nbd+unix:///back%5Cslash.img?socket=$unixsocket" back.out'
cmp "exp/café.img" cafe.out
cmp "exp/back\\slash.img" back.out

# ---- Listings that never end, from the fake server. ----
stop_sshd
start_sshd "Subsystem sftp /usr/bin/python3 $srcdir/fake-sftp-server.py $MODEFILE"

case "${SSH_PLUGIN_CHECK:-}" in
    valgrind) max_seconds=600 ;;
    *) max_seconds=60 ;;
esac

# forever MODE MESSAGE: nbdinfo --list, and nbdinfo on the default
# export (which lists the directory too), fail within max_seconds with
# MESSAGE; nbdkit's memory stays bounded.
forever ()
{
    local mode="$1" message="$2" start
    echo "$mode" > "$MODEFILE"
    : > "$MODEFILE.log"
    rm -f list.rc default.rc rss.rc
    start="$SECONDS"
    MAX_RSS_MB=150 run_plugin timeout=10 dir="$work/exp" --run "
        timeout $max_seconds nbdinfo --list \"\$uri\" > /dev/null
        echo \$? > list.rc
        timeout $max_seconds nbdinfo \"\$uri\" > /dev/null
        echo \$? > default.rc
        /usr/bin/python3 $srcdir/hostile-client.py - - rss
        echo \$? > rss.rc" 2> "err-$mode.txt" || {
        cat "err-$mode.txt" >&2
        echo "FAIL: mode $mode" >&2
        return 1
    }
    cat "err-$mode.txt" >&2
    echo "$mode: $(( SECONDS - start )) s; nbdinfo exit status" \
         "$(cat list.rc) and $(cat default.rc)" >&2
    grep -q -F "fired $mode" "$MODEFILE.log" ||
        { echo "FAIL: the fault $mode never fired" >&2; return 1; }
    for rc in list.rc default.rc; do
        case "$(cat $rc)" in
            0) echo "FAIL: $mode: nbdinfo succeeded" >&2; return 1 ;;
            124|137) echo "FAIL: $mode: nbdinfo timed out" >&2; return 1 ;;
        esac
    done
    [ "$(cat rss.rc)" = 0 ] ||
        { echo "FAIL: $mode: nbdkit's memory grew" >&2; return 1; }
    expect_grep "err-$mode.txt" "cannot list remote directory" "$message"
}

forever readdir-forever "more than the names allowed"
forever readdir-empty "more than the replies allowed"
echo normal > "$MODEFILE"

# A symlink swapped in between LSTAT and OPEN, pointing out of the
# directory: the opened file is not the one checked, so it is refused.
make_random_file exp/swap.img 1
make_random_file secret.img 2
ln -s ../secret.img exp/swap.img.target
echo swap-on-open > "$MODEFILE"
: > "$MODEFILE.log"
run_plugin_fail err-swap.txt dir="$work/exp" \
    --run 'nbdinfo --size "nbd+unix:///swap.img?socket=$unixsocket"'
grep -q -F "fired swap-on-open" "$MODEFILE.log"
expect_grep err-swap.txt "swap.img changed between its check and its opening"
echo normal > "$MODEFILE"
