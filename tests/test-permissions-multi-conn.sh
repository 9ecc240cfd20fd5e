#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Multi-conn and a refused write, as an unprivileged remote user
# (add_key_user): a write refused (the file made immutable, chattr +i)
# on one connection after the client had its reply (write-behind)
# makes a flush on another connection fail, as that flush covers it;
# the first connection's own flush reports it too; and when the writer
# leaves before any flush told it, the next flush elsewhere fails
# (test-permissions-multi-conn.py).  nbdkit's message says the write
# failed on "another connection".
#
# Not run, with a NOTE, where chattr is missing or the home file system
# has no immutable flag for open files (tmpfs, overlayfs), as
# test-permissions-write-denied.sh's part (a); this machine and CI's
# support it, and the script's log says when it did not run.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires_libnbd_python

add_key_user nbdp
start_sshd "AuthorizedKeysFile .ssh/authorized_keys"
authorize_user_key
cd "$SSHD_DIR"
home="$TEST_HOME"
user_file rw.img 2 0644
export REMOTE="$home/rw.img"

printf 'probe' > "$home/probe"
if ! command -v chattr >/dev/null ||
   ! /usr/bin/python3 "$srcdir/test-permissions-probe.py" "$home/probe" \
       2>/dev/null; then
    echo "NOTE: $home does not support chattr +i on open files: not run"
    exit 0
fi

run_plugin "${USER_ARGS[@]}" path=rw.img \
    --run '/usr/bin/python3 "$srcdir/test-permissions-multi-conn.py" "$uri"' \
    2> multi.err ||
    { cat multi.err; exit 1; }
cat multi.err
expect_grep multi.err "another connection"
