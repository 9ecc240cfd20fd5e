#!/usr/bin/env bash
# Key authentication without an agent: passphrase-protected keys
# (identity-passphrase= in its +FILE form), default ~/.ssh/id_* files,
# keys readable by others refused as OpenSSH does, and RSA keys with a
# libssh2 that cannot sign rsa-sha2.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires ssh-keygen cmp
start_sshd
cd "$SSHD_DIR"
make_random_file "$SSHD_DIR/disk.img" 1
unset SSH_AUTH_SOCK

read_ok ()
{
    rm -f out.img
    run_plugin path="$SSHD_DIR/disk.img" \
        "$@" --run 'nbdcopy "$uri" out.img'
    cmp "$SSHD_DIR/disk.img" out.img
}

# A passphrase-protected ed25519 key in OpenSSH's format.
secret='correct horse battery'
ssh-keygen -q -t ed25519 -N "$secret" -C enc-key -f enc_key
cat enc_key.pub >> authorized_keys
printf '%s' "$secret" > passphrase
read_ok identity="$SSHD_DIR/enc_key" identity-passphrase=+"$SSHD_DIR/passphrase"

# The passphrase never shows in debug output.
run_plugin -v -D ssh.log=1 \
    path="$SSHD_DIR/disk.img" identity="$SSHD_DIR/enc_key" \
    identity-passphrase=+"$SSHD_DIR/passphrase" \
    --run 'nbdinfo "$uri" >/dev/null' 2> debug.log
if grep -F "$secret" debug.log; then
    echo "FAIL: the passphrase appears in the debug output"; exit 1
fi

# Without the passphrase, or with a wrong one: a clear refusal.
run_plugin_fail err-nopass.txt \
    path="$SSHD_DIR/disk.img" identity="$SSHD_DIR/enc_key" \
    --run 'nbdinfo "$uri"'
expect_grep err-nopass.txt "authentication failed" "$SSHD_DIR/enc_key" \
    "no identity-passphrase given"
printf 'wrong' > wrong
run_plugin_fail err-wrong.txt \
    path="$SSHD_DIR/disk.img" identity="$SSHD_DIR/enc_key" \
    identity-passphrase=+"$SSHD_DIR/wrong" --run 'nbdinfo "$uri"'
expect_grep err-wrong.txt "authentication failed" "wrong identity-passphrase"

# A passphrase-protected ECDSA key in PEM format.
ssh-keygen -q -t ecdsa -m PEM -N "$secret" -C pem-key -f pem_key
cat pem_key.pub >> authorized_keys
read_ok identity="$SSHD_DIR/pem_key" identity-passphrase=+"$SSHD_DIR/passphrase"

# Default key files: ~/.ssh/id_ed25519 with no identity= and no agent.
mkdir -p home/.ssh
cp "$CLIENT_KEY" home/.ssh/id_ed25519
chmod 600 home/.ssh/id_ed25519
HOME="$SSHD_DIR/home" read_ok

# A key readable by others is refused, as OpenSSH does.
cp "$CLIENT_KEY" open_key
chmod 644 open_key
run_plugin_fail err-perm.txt \
    path="$SSHD_DIR/disk.img" identity="$SSHD_DIR/open_key" \
    --run 'nbdinfo "$uri"'
expect_grep err-perm.txt "$SSHD_DIR/open_key" "too open" "0644"

# RSA: libssh2 < 1.11 signs only with ssh-rsa (SHA-1), refused by
# OpenSSH >= 8.8; the message must say so.  A newer libssh2 just works.
ssh-keygen -q -t rsa -b 2048 -N '' -C rsa-key -f rsa_key
cat rsa_key.pub >> authorized_keys
libssh2_version="$(run_nbdkit "$PLUGIN" --dump-plugin |
                   sed -n 's/^ssh_libssh2_version=//p')"
[ -n "$libssh2_version" ] || { echo "FAIL: no libssh2 version"; exit 1; }
case "$libssh2_version" in
    1.[0-9].*|1.10.*)
        run_plugin_fail err-rsa.txt \
            path="$SSHD_DIR/disk.img" identity="$SSHD_DIR/rsa_key" \
            --run 'nbdinfo "$uri"'
        expect_grep err-rsa.txt "RSA" "rsa-sha2" "ed25519"
        ;;
    *)
        read_ok identity="$SSHD_DIR/rsa_key"
        ;;
esac
