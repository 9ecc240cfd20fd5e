#!/usr/bin/env bash
# known_hosts in every form OpenSSH writes: hashed entries, wildcard and
# negated patterns, lines libssh2 cannot parse before the good one
# (@cert-authority, unknown key types, garbage), @revoked keys, several
# files, the [host]:port rule, and a host known only by its ECDSA key
# while the server also has Ed25519.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires ssh-keygen cmp
keys="$(mktemp -d /tmp/sshkeys.XXXXXX)"
cleanup_fn rm -rf "$keys"
ssh-keygen -q -t ecdsa -N '' -f "$keys/ecdsa_key"
start_sshd "HostKey $keys/ecdsa_key"
cd "$SSHD_DIR"
make_random_file disk.img 1

ed="$(cut -d' ' -f1,2 "$HOST_KEY_PUB")"
ecdsa="$(cut -d' ' -f1,2 "$keys/ecdsa_key.pub")"
ssh-keygen -q -t ed25519 -N '' -f other_key
other="$(cut -d' ' -f1,2 other_key.pub)"
name="[127.0.0.1]:$SSHD_PORT"

works ()
{
    rm -f out.img
    run_nbdkit -U - "$PLUGIN" host=127.0.0.1 port="$SSHD_PORT" \
        path="$SSHD_DIR/disk.img" "$@" --run 'nbdcopy "$uri" out.img'
    cmp disk.img out.img
}
refused ()
{
    local want="$1"
    shift
    run_nbdkit_fail err.txt -U - "$PLUGIN" host=127.0.0.1 \
        port="$SSHD_PORT" path="$SSHD_DIR/disk.img" "$@" \
        --run 'nbdinfo "$uri"'
    expect_grep err.txt "$want"
}

# Hashed (ssh-keygen -H).
echo "$name $ed" > hashed
ssh-keygen -q -H -f hashed
rm -f hashed.old
grep -q '^|1|' hashed
works known-hosts="$SSHD_DIR/hashed"

# Lines libssh2 cannot read come first; the good line is last.
{
    echo "# a comment"
    echo "@cert-authority *.example.com $other"
    echo "$name ssh-unknown-type AAAAB3NzaC1yc2EAAAADAQABAAABAQ"
    echo "this line is garbage"
    echo "@revoked other.example.com $other"
    echo ""
    echo "$name $ed"
} > messy
works known-hosts="$SSHD_DIR/messy"

# Wildcards and negation.
echo "[127.0.0.*]:$SSHD_PORT $ed" > wild
works known-hosts="$SSHD_DIR/wild"
echo "[127.0.0.*]:$SSHD_PORT,![127.0.0.1]:$SSHD_PORT $ed" > negated
refused "not in known_hosts" known-hosts="$SSHD_DIR/negated"

# A plain name does not match a non-22 port (OpenSSH's rule).
echo "127.0.0.1 $ed" > noport
refused "not in known_hosts" known-hosts="$SSHD_DIR/noport"

# @revoked wins even when another line has the same key.
{ echo "$name $ed"; echo "@revoked $name $ed"; } > revoked
refused "REVOKED" known-hosts="$SSHD_DIR/revoked"

# Several files: the key is in the second one.
: > empty
works known-hosts="$SSHD_DIR/empty" known-hosts="$SSHD_DIR/hashed"

# Known only by its ECDSA key: the plugin asks for ECDSA first.
echo "$name $ecdsa" > ecdsa_only
works known-hosts="$SSHD_DIR/ecdsa_only"
# Known by a different ECDSA key: mismatch, with the server's fingerprint.
ssh-keygen -q -t ecdsa -N '' -f other_ecdsa
echo "$name $(cut -d' ' -f1,2 other_ecdsa.pub)" > ecdsa_wrong
fp="$(ssh-keygen -l -f "$keys/ecdsa_key.pub" | awk '{print $2}')"
refused "MISMATCH" known-hosts="$SSHD_DIR/ecdsa_wrong"
expect_grep err.txt "$fp" "ecdsa-sha2-nistp256"
