#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Host key verification: known_hosts (unknown host, mismatching key),
# host-key= fingerprints (SHA256 base64, MD5 hex with and without colons,
# SHA256 hex), verify-remote-host=false, and what is not a fingerprint.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo nbdcopy ssh-keygen /usr/bin/python3
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/small.img"
make_random_file "$remote" 1
base=(host=127.0.0.1 "port=$SSHD_PORT" path="$remote")
empty="$SSHD_DIR/empty_known_hosts"
: > "$empty"

# reads_ok NAME ARGS...: the plugin with ARGS serves $remote correctly.
reads_ok ()
{
    local name="$1"; shift
    rm -f "out-$name.img"
    run_nbdkit -U - "$PLUGIN" "${base[@]}" "$@" \
        --run "nbdcopy \"\$uri\" out-$name.img" 2> "err-$name.txt" || {
        echo "FAIL: case $name: nbdkit failed:" >&2
        cat "err-$name.txt" >&2
        return 1
    }
    cat "err-$name.txt" >&2
    compare_sha256 "$remote" "out-$name.img"
}

# (a) Empty known_hosts: the host is unknown.
run_nbdkit_fail err-a.txt -U - "$PLUGIN" "${base[@]}" known-hosts="$empty" \
    --run 'nbdinfo "$uri"'
expect_grep err-a.txt "not in known_hosts"

# (b) known_hosts lists a different ed25519 key for [127.0.0.1]:PORT.
ssh-keygen -q -t ed25519 -N '' -C other -f other_key
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 other_key.pub)" \
       > wrong_known_hosts
run_nbdkit_fail err-b.txt -U - "$PLUGIN" "${base[@]}" \
    known-hosts="$SSHD_DIR/wrong_known_hosts" --run 'nbdinfo "$uri"'
expect_grep err-b.txt "MISMATCH" "$HOST_FP_SHA256"

# (c) host-key=SHA256:... (as ssh-keygen -l prints it), empty known_hosts.
reads_ok c known-hosts="$empty" host-key="$HOST_FP_SHA256"

# (d) A wrong SHA256 fingerprint (another key's: 43 base64 characters).
wrong_fp="$(ssh-keygen -l -f other_key.pub | awk '{print $2}')"
test "${#wrong_fp}" -eq $((7 + 43))
run_nbdkit_fail err-d.txt -U - "$PLUGIN" "${base[@]}" known-hosts="$empty" \
    host-key="$wrong_fp" --run 'nbdinfo "$uri"'
expect_grep err-d.txt "does not match" "$HOST_FP_SHA256"

# (e) MD5 with colons, MD5 without colons, SHA256 as lowercase hex.
reads_ok e1 known-hosts="$empty" host-key="md5:$HOST_FP_MD5"
reads_ok e2 known-hosts="$empty" host-key="md5:${HOST_FP_MD5//:/}"
sha256_hex="$(/usr/bin/python3 -c '
import base64, hashlib, sys
blob = base64.b64decode(open(sys.argv[1]).read().split()[1])
print(hashlib.sha256(blob).hexdigest())' "$HOST_KEY_PUB")"
test "${#sha256_hex}" -eq 64
reads_ok e3 known-hosts="$empty" host-key="sha256:$sha256_hex"

# (f) verify-remote-host=false skips the check, with a warning.
reads_ok f known-hosts="$empty" verify-remote-host=false
expect_grep err-f.txt "verify-remote-host"

# (g) What is not a fingerprint is refused, naming the parameter.
run_nbdkit_fail err-g1.txt -U - "$PLUGIN" "${base[@]}" host-key=bogus \
    --run 'nbdinfo "$uri"'
expect_grep err-g1.txt "host-key: 'bogus' is not a fingerprint"
run_nbdkit_fail err-g2.txt -U - "$PLUGIN" "${base[@]}" host-key=SHA256:abc \
    --run 'nbdinfo "$uri"'
expect_grep err-g2.txt \
    "host-key: 'SHA256:abc' is not a valid SHA256 fingerprint"
