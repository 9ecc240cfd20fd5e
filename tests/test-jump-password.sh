#!/usr/bin/env bash
# password= is sent to the target only, never to a jump host (as with
# ssh -J); a jump host gets its own password from jump-password=.  The
# test creates (and removes) a user with a password and a password-only
# sshd, which is both the jump host and the target.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires cmp nbdcopy

add_password_user nbdj
user="$TEST_USER" password="$TEST_PASSWORD" home="$TEST_HOME"
unset SSH_AUTH_SOCK

start_sshd "PasswordAuthentication yes" "PubkeyAuthentication no" \
    "AuthenticationMethods password"
printf '%s' "$password" > "$SSHD_DIR/pw"
n_pw () { grep -c "password for $user" "$SSHD_LOG" || :; }

# password= only: the jump host is not sent it, and says so.
before="$(n_pw)"
run_plugin_fail "$SSHD_DIR/err.txt" user="$user" path=disk.img \
    password=+"$SSHD_DIR/pw" jump="$user@127.0.0.1:$SSHD_PORT" \
    --run 'nbdinfo "$uri"'
expect_grep "$SSHD_DIR/err.txt" "authentication failed for $user@127.0.0.1" \
    "no jump-password= given"
if [ "$(n_pw)" -ne "$before" ]; then
    echo "FAIL: the jump host was sent a password:" >&2
    grep "password for $user" "$SSHD_LOG" >&2
    exit 1
fi

# jump-password= for the hop, password= for the target: both log in.
printf '%s' "$password" > "$SSHD_DIR/jpw"
rm -f "$SSHD_DIR/out.img"
run_plugin user="$user" path=disk.img \
    password=+"$SSHD_DIR/pw" jump-password=+"$SSHD_DIR/jpw" \
    jump="$user@127.0.0.1:$SSHD_PORT" \
    --run 'nbdcopy "$uri" "$SSHD_DIR/out.img"'
cmp "$home/disk.img" "$SSHD_DIR/out.img"
grep -c "Accepted password for $user" "$SSHD_LOG"
[ "$(grep -c "Accepted password for $user" "$SSHD_LOG")" -ge 2 ]
