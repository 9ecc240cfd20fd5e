#!/usr/bin/env bash
# Writes refused on a handle that is already open, the connection
# otherwise working, as an unprivileged remote user (add_key_user):
# the write fails with EPERM (NBD has no EACCES; nbdkit would send
# EACCES as EINVAL), nbdkit says "permission denied" and names the
# file, there is no reconnect, reads still work
# (test-permissions-write-denied.py); with write-behind (the default)
# and without.  Two ways: (a) the file is made immutable (chattr +i)
# while open, so the server's write(2) fails with EPERM (not run, with
# a note, if the home file system has no immutable flag); (b) an
# sftp-server run with "-P write", which refuses every WRITE request
# with SSH_FX_PERMISSION_DENIED.
#
# (test-permissions-multi-conn.sh: such a refused write reported on
# another connection.)

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python

add_key_user nbdp
start_sshd "AuthorizedKeysFile .ssh/authorized_keys"
authorize_user_key
work="$SSHD_DIR"   # scripts and outputs (a second sshd comes later)
cd "$work"
home="$TEST_HOME"
user_file rw.img 2 0644

# MODE=chattr: the script makes the file immutable itself, between two
# writes; MODE=deny: every write is refused by the server.
export REMOTE="$home/rw.img"

# refused_write MODE: run test-permissions-write-denied.py MODE; the
# plugin reports permission denied on rw.img and does not reconnect for
# it.
refused_write ()
{
    local mode="$1" wb
    # With write-behind (the default) and without.
    for wb in default 0; do
        run_plugin "${USER_ARGS[@]}" path=rw.img \
            $([ $wb = default ] || echo write-behind=$wb) \
            --run "/usr/bin/python3 \"\$srcdir/test-permissions-write-denied.py\" \
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
else
    echo "NOTE: $home does not support chattr +i on open files; part (a) not run"
fi
lsattr "$home/rw.img" 2>/dev/null || :

# (b) An sftp-server that refuses WRITE requests.
stop_sshd
# (stop_sshd leaves $work in place until the test exits.)
start_sshd "AuthorizedKeysFile .ssh/authorized_keys" \
    "ForceCommand /usr/lib/openssh/sftp-server -P write"
authorize_user_key
refused_write deny
