#!/usr/bin/env bash
# compression=true (as in nbdkit's libssh-based plugin): zlib on the SSH
# connection, delayed (zlib@openssh.com) with OpenSSH.  Bytes on the
# wire are counted by tests/fault-proxy in pass mode, which logs what
# each connection carried when it closes.
#
# 1. A 64 MiB all-zero file read with compression=true moves far fewer
#    bytes over TCP than with compression=false (and than the file),
#    and the data read is identical.
# 2. Random data written then read back with compression=true (both
#    directions compressed) is identical.
# 3. A server with "Compression no": compression=true still works,
#    uncompressed, and the debug output says so.
# 4. compression=maybe and compression given twice are refused.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy cmp truncate
start_sshd "Compression yes"
cd "$SSHD_DIR"

MiB=$(( 1024 * 1024 ))
remote="$SSHD_DIR/zeros.img"
truncate -s $(( 64 * MiB )) "$remote"
head -c $(( 64 * MiB )) /dev/zero > zeros.ref

# wire_bytes LOG DIRECTION: wait (bounded) until the proxy has logged
# the end of every connection it accepted, then print the sum of the
# bytes sent in DIRECTION ("server" or "client") over all of them.
wire_bytes ()
{
    local log="$1" dir="$2" i accepted closed
    for (( i = 0; i < 100; ++i )); do
        accepted="$(grep -c ': accepted' "$log" || :)"
        closed="$(grep -c ': closed after ' "$log" || :)"
        [ "$accepted" -gt 0 ] && [ "$closed" -eq "$accepted" ] && break
        sleep 0.1
    done
    if [ "$closed" -ne "$accepted" ] || [ "$accepted" -eq 0 ]; then
        echo "FAIL: the proxy logged $accepted connections, $closed closed" >&2
        cat "$log" >&2
        return 1
    fi
    sed -n "s/.*closed after [0-9]* bytes (\([0-9]*\) to the server, \([0-9]*\) to the client).*/\1 \2/p" "$log" |
        awk -v d="$dir" '{ s += (d == "server" ? $1 : $2) } END { print s + 0 }'
}

# read_through_proxy NAME PARAM...: nbdcopy the file through a fresh
# proxy; prints the bytes the server sent.
read_through_proxy ()
{
    local name="$1"
    shift
    start_fault_proxy "$name.log" -m pass
    rm -f "$name.out"
    run_nbdkit -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" "$@" \
        --run "nbdcopy \"\$uri\" $name.out" >&2
    cmp zeros.ref "$name.out" >&2
    stop_fault_proxy
    wire_bytes "$name.log" client
}

# --- 1. Zeros, with and without compression.
plain="$(read_through_proxy plain compression=false)"
packed="$(read_through_proxy packed compression=true)"
cat plain.log packed.log
echo "64 MiB of zeros: $plain bytes from the server uncompressed, $packed compressed"
[ "$plain" -ge $(( 64 * MiB )) ] || {
    echo "FAIL: uncompressed, only $plain bytes for 64 MiB"; exit 1; }
# zlib shrinks runs of zeros about a thousandfold; allow a wide margin.
[ $(( packed * 20 )) -lt "$plain" ] || {
    echo "FAIL: compression=true moved $packed bytes, not much less than $plain"
    exit 1; }
# The default is no compression, as in nbdkit's plugin.
default="$(read_through_proxy default)"
[ "$default" -ge $(( 64 * MiB )) ] || {
    echo "FAIL: without compression=, only $default bytes moved"; exit 1; }

# What was negotiated, in the debug output.
run_plugin -v -D ssh.log=1 path="$remote" compression=true \
    --run 'nbdinfo --size "$uri"' 2> debug.log
expect_grep debug.log "compression zlib@openssh.com"

# --- 2. Random data both ways, compressed.
make_random_file in.img 8
truncate -s $(( 8 * MiB )) "$SSHD_DIR/rw.img"
run_plugin path="$SSHD_DIR/rw.img" compression=true \
    --run 'nbdcopy in.img "$uri" && nbdcopy "$uri" back.img'
cmp in.img "$SSHD_DIR/rw.img"
cmp in.img back.img
stop_sshd

# --- 3. A server that refuses compression.
start_sshd "Compression no"
cd "$SSHD_DIR"
remote="$SSHD_DIR/zeros.img"
truncate -s $(( 64 * MiB )) "$remote"
head -c $(( 64 * MiB )) /dev/zero > zeros.ref
refused="$(read_through_proxy refused compression=true)"
[ "$refused" -ge $(( 64 * MiB )) ] || {
    echo "FAIL: with Compression no, only $refused bytes for 64 MiB"; exit 1; }
run_plugin -v -D ssh.log=1 path="$remote" compression=true \
    --run 'nbdinfo --size "$uri"' 2> debug.log
expect_grep debug.log "compression none" "does not allow compression"

# --- 4. Bad values.
run_plugin_fail err1.txt path="$remote" compression=maybe \
    --run 'nbdinfo "$uri"'
expect_grep err1.txt "maybe"
run_plugin_fail err2.txt path="$remote" compression=true compression=false \
    --run 'nbdinfo "$uri"'
expect_grep err2.txt "'compression' given twice"

echo "ratio: $(( plain / packed )):1 (uncompressed $plain, compressed $packed bytes)"
