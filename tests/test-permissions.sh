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

cat > ro-write.py <<'PYEOF'
import errno, sys
import nbd
h = nbd.NBD()
h.connect_uri(sys.argv[1])
if not h.is_read_only():
    sys.exit("FAIL: the export is not read-only")
before = h.pread(4096, 0)
# Send the write anyway (libnbd would refuse it itself): nbdkit must.
h.set_strict_mode(h.get_strict_mode() & ~nbd.STRICT_COMMANDS)
try:
    h.pwrite(b"x" * 4096, 0)
    sys.exit("FAIL: a write to a read-only export succeeded")
except nbd.Error as e:
    print("write to the -r export: %s" % e)
    if e.errnum != errno.EPERM:
        sys.exit("FAIL: expected EPERM, got errnum %s" % e.errnum)
if h.pread(4096, 0) != before:
    sys.exit("FAIL: data changed")
h.shutdown()
PYEOF
run_plugin -r "${USER_ARGS[@]}" path=ro.img \
    --run '/usr/bin/python3 ro-write.py "$uri"'
cmp "$home/ro.img" out.img

# --- 2. Writes refused on an open handle.
# MODE=chattr: the script makes the file immutable itself, between two
# writes; MODE=deny: every write is refused by the server.
cat > denied.py <<'PYEOF'
import errno, os, subprocess, sys
import nbd

mode = sys.argv[2]
wb = sys.argv[3]
remote = os.environ["REMOTE"]
with open(remote, "rb") as f:
    model = bytearray(f.read())
h = nbd.NBD()
h.connect_uri(sys.argv[1])
if h.is_read_only():
    sys.exit("FAIL: the export is read-only")

def immutable(on):
    subprocess.run(["chattr", "+i" if on else "-i", remote], check=True)

if mode == "chattr":
    buf = os.urandom(65536)
    h.pwrite(buf, 65536)
    model[65536:131072] = buf
    # Under write-behind the write above may still be on its way to
    # the server when the client has its reply: the flush makes sure it
    # reached the file before the file turns immutable.
    h.flush()
    immutable(True)
try:
    buf = os.urandom(300 * 1024)
    try:
        # With write-behind the write may be acknowledged first: the
        # failure is then reported by the flush.
        h.pwrite(buf, 1024 * 1024 + 512)
        if wb == "0":
            sys.exit("FAIL: a refused write succeeded (write-behind=0)")
        h.flush()
        sys.exit("FAIL: a refused write and the flush after it succeeded")
    except nbd.Error as e:
        print("refused write: %s" % e)
        # NBD has no EACCES: the plugin must report EPERM (or EROFS),
        # which nbdkit sends as NBD_EPERM; any other errno (EACCES
        # included) reaches the client as EINVAL.
        if e.errnum != errno.EPERM:
            sys.exit("FAIL: expected EPERM (1), got errnum %s" % e.errnum)
    # The connection is fine: reads work and return the old data.
    if h.pread(len(model), 0) != model:
        sys.exit("FAIL: read after the refused write differs")
finally:
    if mode == "chattr":
        immutable(False)
if mode == "chattr":
    # Allowed again: the next write works on the same connection.
    h.pwrite(buf, 1024 * 1024 + 512)
    model[1024 * 1024 + 512:1024 * 1024 + 512 + len(buf)] = buf
    h.flush()
h.shutdown()
with open(remote, "rb") as f:
    if f.read() != model:
        sys.exit("FAIL: remote file differs from the model")
print("%s: ok" % mode)
PYEOF
export REMOTE="$home/rw.img"

# refused_write MODE: run denied.py MODE; the plugin reports permission
# denied on rw.img and does not reconnect for it.
refused_write ()
{
    local mode="$1" wb
    # With write-behind (the default) and without.
    for wb in default 0; do
        run_plugin "${USER_ARGS[@]}" path=rw.img \
            $([ $wb = default ] || echo write-behind=$wb) \
            --run "/usr/bin/python3 denied.py \"\$uri\" $mode $wb" \
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
cat > probe.py <<'PYEOF'
import os, subprocess, sys
f = sys.argv[1]
fd = os.open(f, os.O_RDWR)
if subprocess.run(["chattr", "+i", f]).returncode != 0:
    sys.exit(1)
try:
    os.pwrite(fd, b"x", 0)
    r = 1
except PermissionError:
    r = 0
subprocess.run(["chattr", "-i", f], check=True)
sys.exit(r)
PYEOF
printf 'probe' > "$home/probe"
if command -v chattr >/dev/null &&
       /usr/bin/python3 probe.py "$home/probe" 2>/dev/null; then
    refused_write chattr
    # Multi-conn: a write refused on one connection after the client
    # had its reply (write-behind) makes a flush on another connection
    # fail, as that flush covers it; the first connection's own flush
    # reports it too.
    cat > multi.py <<'PYEOF'
import errno, os, subprocess, sys, time
import nbd
remote = os.environ["REMOTE"]
uri = sys.argv[1]

def must_fail(h, errnos, what):
    """h.flush() must fail with one of errnos; what: why it must."""
    try:
        h.flush()
    except nbd.Error as e:
        print("flush %s: %s" % (what, e))
        if e.errnum not in errnos:
            sys.exit("FAIL: flush %s: expected errno %s, got %s"
                     % (what, errnos, e.errnum))
        return
    sys.exit("FAIL: flush %s succeeded" % what)

h1 = nbd.NBD()
h1.connect_uri(uri)
h2 = nbd.NBD()
h2.connect_uri(uri)
assert h1.can_multi_conn()
subprocess.run(["chattr", "+i", remote], check=True)
try:
    h1.pwrite(os.urandom(65536), 0)        # acknowledged before it fails
    must_fail(h2, (errno.EPERM,), "on another connection after a "
              "completed write failed")
    h2.flush()                             # reported once there
    must_fail(h1, (errno.EPERM,), "on the writing connection")
finally:
    subprocess.run(["chattr", "-i", remote], check=True)
h1.flush()
h2.flush()
h1.shutdown()

# The writing client leaves before a flush told it of the failure
# (nbdkit logs it at close): the next flush elsewhere fails.
h1 = nbd.NBD()
h1.connect_uri(uri)
subprocess.run(["chattr", "+i", remote], check=True)
try:
    h1.pwrite(os.urandom(65536), 0)
    h1.shutdown()
    time.sleep(1)                          # nbdkit closes it meanwhile
    must_fail(h2, (errno.EIO, errno.EPERM), "after the writer of a "
              "completed write that failed left")
finally:
    subprocess.run(["chattr", "-i", remote], check=True)
h2.flush()                                 # reported once
h2.shutdown()
print("multi-conn: ok")
PYEOF
    run_plugin "${USER_ARGS[@]}" path=rw.img \
        --run '/usr/bin/python3 multi.py "$uri"' 2> multi.err ||
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
