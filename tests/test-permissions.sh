#!/usr/bin/env bash
# Permission errors, as an unprivileged remote user (root would bypass
# file modes): a test user is created (and removed) and logs in with
# the agent's key from ~/.ssh/authorized_keys; path= is relative to its
# home directory.
#
# 1. A file it may only read (mode 0444): opening it read-write fails
#    clearly ("permission denied" and the path); with nbdkit -r it is
#    served, and a write to that read-only export is refused (EPERM,
#    by nbdkit).
# 2. Writes refused on a handle that is already open, the connection
#    otherwise working: the write fails with EPERM (NBD has no EACCES;
#    nbdkit would send EACCES as EINVAL), nbdkit says
#    "permission denied", there is no reconnect, reads still work.
#    Two ways: (a) the file is made immutable (chattr +i) while open,
#    so the server's write(2) fails with EPERM (skipped with a note if
#    the home file system has no immutable flag); (b) an sftp-server
#    run with "-P write", which refuses every WRITE request with
#    SSH_FX_PERMISSION_DENIED.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires useradd userdel usermod su cmp
requires_libnbd_python
[ "$(id -u)" -eq 0 ] || _skip_or_fail "this test must run as root (useradd)"

user="nbdp$$"
useradd -m -s /bin/sh "$user"
cleanup_fn userdel -r -f "$user"
# Not locked ("!" in /etc/shadow would make sshd refuse it), no password.
usermod -p '*' "$user"
home="$(getent passwd "$user" | cut -d: -f6)"

# Keys from the user's ~/.ssh/authorized_keys (sshd reads them as the
# user, who cannot read the test's private directory).
start_sshd "AuthorizedKeysFile .ssh/authorized_keys"
work="$SSHD_DIR"   # scripts and outputs (a second sshd comes later)
cd "$work"
install -d -o "$user" -m 700 "$home/.ssh"
install -o "$user" -m 600 "$CLIENT_KEY.pub" "$home/.ssh/authorized_keys"
USER_ARGS=(user="$user")

make_random_file "$home/ro.img" 1
chown "$user" "$home/ro.img"
chmod 0444 "$home/ro.img"
make_random_file "$home/rw.img" 2
chown "$user" "$home/rw.img"
chmod 0644 "$home/rw.img"

# The user really cannot write ro.img (and the setup works at all).
if su -s /bin/sh -c "test -w '$home/ro.img'" "$user"; then
    echo "FAIL: $user can write $home/ro.img"; exit 1
fi
run_plugin "${USER_ARGS[@]}" path=rw.img \
    --run 'nbdinfo "$uri" >/dev/null'

# --- 1. Opening a read-only file read-write.
run_plugin_fail open.err "${USER_ARGS[@]}" path=ro.img \
    --run 'nbdinfo "$uri"'
expect_grep -i open.err "permission denied"
expect_grep open.err "ro.img"

# Read-only (-r): served, and nbdkit itself refuses writes.
run_plugin -r "${USER_ARGS[@]}" path=ro.img \
    --run 'nbdcopy "$uri" out.img'
cmp "$home/ro.img" out.img

run_plugin -r "${USER_ARGS[@]}" path=ro.img \
    --run '/usr/bin/python3 "$srcdir/test-permissions-ro-write.py" "$uri"'
cmp "$home/ro.img" out.img

# --- 2. Writes refused on an open handle (test-permissions-denied.py).
# MODE=chattr: the script makes the file immutable itself, between two
# writes; MODE=deny: every write is refused by the server.
export REMOTE="$home/rw.img"

# refused_write MODE: run test-permissions-denied.py MODE; the plugin
# reports permission denied on rw.img and does not reconnect for it.
refused_write ()
{
    local mode="$1" wb
    # With write-behind (the default) and without.
    for wb in default 0; do
        run_plugin "${USER_ARGS[@]}" path=rw.img \
            $([ $wb = default ] || echo write-behind=$wb) \
            --run "/usr/bin/python3 \"\$srcdir/test-permissions-denied.py\" \
                   \"\$uri\" $mode $wb" \
            2> "$mode.err" || { cat "$mode.err"; exit 1; }
        cat "$mode.err"
        expect_grep -i "$mode.err" "permission denied"
        expect_grep "$mode.err" "rw.img"
        if grep -F reconnecting "$mode.err"; then
            echo "FAIL: a refused write made the plugin reconnect"; exit 1
        fi
    done
}

# (a) chattr +i, if the home file system supports it for open files.
printf 'probe' > "$home/probe"
if command -v chattr >/dev/null &&
       /usr/bin/python3 "$srcdir/test-permissions-probe.py" "$home/probe" \
           2>/dev/null; then
    refused_write chattr
    # Multi-conn: a write refused on one connection after the client
    # had its reply (write-behind) makes a flush on another connection
    # fail, as that flush covers it; the first connection's own flush
    # reports it too.
    run_plugin "${USER_ARGS[@]}" path=rw.img \
        --run '/usr/bin/python3 "$srcdir/test-permissions-multi.py" "$uri"' \
        2> multi.err ||
        { cat multi.err; exit 1; }
    cat multi.err
    expect_grep multi.err "another connection"
else
    echo "NOTE: $home does not support chattr +i on open files; part 2a not run"
fi
lsattr "$home/rw.img" 2>/dev/null || :

# (b) An sftp-server that refuses WRITE requests.
stop_sshd
# (stop_sshd leaves $work in place until the test exits.)
start_sshd "AuthorizedKeysFile .ssh/authorized_keys" \
    "ForceCommand /usr/lib/openssh/sftp-server -P write"
install -o "$user" -m 600 "$CLIENT_KEY.pub" "$home/.ssh/authorized_keys"
refused_write deny
