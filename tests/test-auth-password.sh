#!/usr/bin/env bash
# Password and keyboard-interactive authentication for a test user that
# this test creates (and removes): a password-only sshd, then a PAM-backed
# sshd that offers only keyboard-interactive.  password= is given in its
# +FILE and -FD forms and must never show in debug output.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires cmp
[ -f /etc/pam.d/sshd ] || _skip_or_fail "/etc/pam.d/sshd missing"

add_password_user nbdt
user="$TEST_USER" password="$TEST_PASSWORD" home="$TEST_HOME"
unset SSH_AUTH_SOCK

check_login ()
{
    local what="$1"
    shift
    rm -f "$SSHD_DIR/out.img"
    run_plugin user="$user" \
        path=disk.img "$@" \
        --run 'nbdcopy "$uri" "$SSHD_DIR/out.img"'
    cmp "$home/disk.img" "$SSHD_DIR/out.img"
    # Debug output names the method and never the password.
    run_plugin -v -D ssh.log=1 \
        user="$user" path=disk.img "$@" \
        --run 'nbdinfo "$uri" >/dev/null' 2> "$SSHD_DIR/debug.log"
    grep -F "authenticated with $what" "$SSHD_DIR/debug.log"
    if grep -F -- "$password" "$SSHD_DIR/debug.log"; then
        echo "FAIL: the password appears in the debug output"; exit 1
    fi
}

# 1. Password only (no PAM: sshd checks /etc/shadow itself).
start_sshd "PasswordAuthentication yes" "PubkeyAuthentication no" \
    "AuthenticationMethods password"
printf '%s' "$password" > "$SSHD_DIR/pw"
check_login password password=+"$SSHD_DIR/pw"
# The -FD form (nbdkit reads the file descriptor to its end).
exec 7< "$SSHD_DIR/pw"
rm -f "$SSHD_DIR/out.img"
run_plugin user="$user" path=disk.img \
    password=-7 --run 'nbdcopy "$uri" "$SSHD_DIR/out.img"'
exec 7<&-
cmp "$home/disk.img" "$SSHD_DIR/out.img"
# A wrong password: one error naming what was tried.
printf 'nope' > "$SSHD_DIR/badpw"
run_plugin_fail "$SSHD_DIR/err.txt" \
    user="$user" path=disk.img password=+"$SSHD_DIR/badpw" \
    --run 'nbdinfo "$uri"'
expect_grep "$SSHD_DIR/err.txt" "authentication failed" "password: refused" \
    "the server accepts: password"
# No password at all.
run_plugin_fail "$SSHD_DIR/err2.txt" \
    user="$user" path=disk.img --run 'nbdinfo "$uri"'
expect_grep "$SSHD_DIR/err2.txt" "authentication failed" "no password= given"
stop_sshd

# 2. keyboard-interactive only, through PAM (as most distributions ship).
start_sshd "UsePAM yes" "KbdInteractiveAuthentication yes" \
    "PasswordAuthentication no" "PubkeyAuthentication no" \
    "AuthenticationMethods keyboard-interactive"
printf '%s' "$password" > "$SSHD_DIR/pw"
check_login keyboard-interactive password=+"$SSHD_DIR/pw"
printf 'nope' > "$SSHD_DIR/badpw"
run_plugin_fail "$SSHD_DIR/err.txt" \
    user="$user" path=disk.img password=+"$SSHD_DIR/badpw" \
    --run 'nbdinfo "$uri"'
expect_grep "$SSHD_DIR/err.txt" "authentication failed" \
    "keyboard-interactive: refused"
