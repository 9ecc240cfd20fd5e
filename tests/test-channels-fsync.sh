#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# channels=3: a flush fsyncs the file on every channel that took writes
# (one SFTP server per channel, each with its own handle of the file),
# not only on the first: a server's file system may flush per handle.
# Each sftp-server logs its opens and fsyncs (-l VERBOSE) to one file.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy
logdir="$(mktemp -d /tmp/sftplog.XXXXXX)"
cleanup_fn rm -rf "$logdir"
log="$logdir/sftp-server.log"
: > "$log"
# sshd runs a subsystem command through the user's shell: the
# redirection is the shell's.
start_sshd "Subsystem sftp /usr/lib/openssh/sftp-server -e -l VERBOSE 2>>$log"
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

truncate -s 16M "$remote"
make_random_file local.img 16
run_plugin -v -D ssh.log=1 path="$remote" channels=3 idle-keep=0 \
    --run 'nbdcopy --connections=1 --flush local.img "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
compare_sha256 local.img "$remote"
cat "$log"
[ "$(grep -c "SFTP channel [0-9] for writes to .* ready" nbdkit.err)" -eq 2 ]

# Three sftp-servers opened the file for writing, and each fsynced it.
opens="$(grep -c "^open \"$remote\" flags .*WRITE" "$log" || :)"
fsyncs="$(grep -c "^fsync \"$remote\"" "$log" || :)"
[ "$opens" -eq 3 ]
[ "$fsyncs" -eq 3 ]
