#!/usr/bin/env bash
# uri=ssh://[user@]host[:port]/path (QEMU's form): percent-encoded
# paths, an IPv6 literal, QEMU's host_key_check query (sha256/md5
# pins, no), and the errors: uri with host=, a password in the URI, a
# bad scheme, a wrong pin, a pin that is not a fingerprint.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy cmp /usr/bin/python3
start_sshd "ListenAddress [::1]"
cd "$SSHD_DIR"
make_random_file "my disk.img" 1 3
: > empty_kh
hex="$(/usr/bin/python3 -c '
import base64, hashlib, sys
blob = base64.b64decode(open(sys.argv[1]).read().split()[1])
print(hashlib.sha256(blob).hexdigest())' "$HOST_KEY_PUB")"
path="$(/usr/bin/python3 -c 'import sys, urllib.parse
print(urllib.parse.quote(sys.argv[1]))' "$SSHD_DIR/my disk.img")"

works ()
{
    rm -f out.img
    run_nbdkit -U - "$PLUGIN" known-hosts="$SSHD_DIR/empty_kh" "$@" \
        --run 'nbdcopy "$uri" out.img'
    cmp "my disk.img" out.img
}

works uri="ssh://root@127.0.0.1:$SSHD_PORT$path?host_key_check=sha256:$hex"
works uri="sftp://127.0.0.1:$SSHD_PORT$path?host_key_check=md5:$HOST_FP_MD5"
works uri="ssh://root@[::1]:$SSHD_PORT$path?host_key_check=sha256:$hex"
# The default: known_hosts.
rm -f out.img
run_nbdkit -U - "$PLUGIN" known-hosts="$KNOWN_HOSTS" \
    uri="ssh://127.0.0.1:$SSHD_PORT$path" --run 'nbdcopy "$uri" out.img'
cmp "my disk.img" out.img
# host_key_check=no: accepted with the warning.
run_nbdkit -U - "$PLUGIN" known-hosts="$SSHD_DIR/empty_kh" \
    uri="ssh://127.0.0.1:$SSHD_PORT$path?host_key_check=no" \
    --run 'nbdinfo "$uri" >/dev/null' 2> no.err
expect_grep no.err "WARNING"

fail ()
{
    local want="$1"
    shift
    run_nbdkit_fail err.txt -U - "$PLUGIN" known-hosts="$SSHD_DIR/empty_kh" \
        "$@" --run 'nbdinfo "$uri"'
    expect_grep err.txt "$want"
}
fail "does not match" \
    uri="ssh://127.0.0.1:$SSHD_PORT$path?host_key_check=sha256:$(printf '%064d' 0)"
# A fingerprint that is not one: the message names the parameter.
fail "uri= host_key_check: 'md5:00' is not a valid MD5 fingerprint" \
    uri="ssh://127.0.0.1:$SSHD_PORT$path?host_key_check=md5:00"
fail "cannot be combined" uri="ssh://127.0.0.1:$SSHD_PORT/x" host=127.0.0.1
fail "password" uri="ssh://root:secret@127.0.0.1:$SSHD_PORT/x"
fail "http" uri="http://127.0.0.1/x"
fail "not in known_hosts" uri="ssh://[::1]:$SSHD_PORT$path"
