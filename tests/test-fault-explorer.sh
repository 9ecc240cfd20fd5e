#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Randomized fault exploration (tests/fault-explorer.py): trials, each
# one nbdkit serving a sparse file on a small tmpfs through
# tests/fault-proxy, with 1-4 NBD connections opened and closed at
# random, random writes, reads and flushes, and faults (sshd processes
# killed, TCP connections cut, server and link stalls, a full file
# system, the file replaced), checked against a model of the file: read
# your writes across connections, no acknowledged write lost without a
# failed flush on every connection that must be told, no flush failing
# when nothing may be lost, and the file on disk after nbdkit exits.
#
# Environment:
#   EXPLORER_SECONDS   time budget of the whole test (default 60; 30 under
#                      SSH_PLUGIN_CHECK=valgrind or asan)
#   EXPLORER_SEED      seed of the first trial (default random); trial
#                      k uses EXPLORER_SEED + k
#   EXPLORER_TRIAL     seconds per trial (default 15)
#   EXPLORER_STEPS     steps per trial at most (default 400)
#   EXPLORER_TRIALS    number of trials at most (default: as time allows)
#   EXPLORER_REPLAY    a schedule.json to replay (one trial)
#   EXPLORER_CHANNELS  channels= for every trial (default: 1 in even
#                      trials, 3 in odd ones)
#   EXPLORER_FAULTS    kinds of fault to draw (fault-explorer.py
#                      --faults; "" for none); default all, and motifs
# A failure prints the trial's seed and schedule; reproduce it with
#   EXPLORER_SEED=N EXPLORER_TRIALS=1 EXPLORER_STEPS=K \
#       make check TESTS=tests/test-fault-explorer.sh

set -e
source "$(dirname "$0")/functions.sh"
exclusive_test

requires truncate
requires_libnbd_python

# 60 s in the plain pass; the valgrind and ASan passes, which run the
# same code slower, take 30 s each (CI runs all three).
case "${SSH_PLUGIN_CHECK:-}" in
    valgrind|asan) seconds="${EXPLORER_SECONDS:-30}" ;;
    *) seconds="${EXPLORER_SECONDS:-60}" ;;
esac
trial="${EXPLORER_TRIAL:-15}"
steps="${EXPLORER_STEPS:-400}"
trials="${EXPLORER_TRIALS:-1000000}"
seed="${EXPLORER_SEED:-$(( (RANDOM << 15 | RANDOM) ))}"
# timeout= of the plugin: stalls are measured in it.  Valgrind makes
# every step slower, not the waits.
case "${SSH_PLUGIN_CHECK:-}" in
    valgrind) timeout=8 ;;
    *) timeout=4 ;;
esac
retries=3

mount_tmpfs 24m sshexplore
mnt="$TMPFS_DIR"

start_sshd
cd "$SSHD_DIR"
start_fault_proxy proxy.log
set -x

remote="$mnt/disk.img"
# A failed trial's schedule (EXPLORER_REPLAY=.../schedule.json replays
# it) and nbdkit's messages are kept here.
keep="${EXPLORER_KEEP:-${abs_top_builddir:-$srcdir/..}/tests/fault-explorer.failed}"

# failed WHY: keep the trial's files, say why, fail.
failed ()
{
    echo "===== nbdkit's messages (last 80 lines) ====="
    tail -n 80 nbdkit.err
    rm -rf "$keep"
    mkdir -p "$keep"
    cp state/* nbdkit.err "$keep/" 2>/dev/null || :
    echo "FAIL: trial $k (seed $s, EXPLORER_CHANNELS=$channels): $1; schedule and nbdkit's messages in $keep"
    exit 1
}

start=$SECONDS
k=0
while [ "$k" -lt "$trials" ]; do
    left=$(( seconds - (SECONDS - start) ))
    [ "$left" -gt 2 ] || break
    [ "$left" -lt "$trial" ] || left="$trial"
    s=$(( seed + k ))
    rm -rf "$mnt"/* state
    mkdir state
    truncate -s 8M "$remote"
    args=(--seed "$s" --seconds "$left" --steps "$steps" --state state
          --remote "$remote" --filler "$mnt/filler"
          --proxy-pid "$_FAULT_PROXY_PID" --proxy-log "$SSHD_DIR/proxy.log"
          --timeout "$timeout"
          --retries "$retries")
    [ -z "${EXPLORER_REPLAY:-}" ] || args+=(--replay "$EXPLORER_REPLAY")
    [ -z "${EXPLORER_FAULTS+set}" ] || args+=(--faults "$EXPLORER_FAULTS")
    # Every other trial writes over several SFTP channels (channels=),
    # unless EXPLORER_CHANNELS says how many for all.
    channels="${EXPLORER_CHANNELS:-$(( k % 2 ? 3 : 1 ))}"
    args+=(--channels "$channels")
    echo "trial $k: seed $s, channels=$channels"
    r=0
    run_nbdkit -U - "$PLUGIN" "${PROXY_ARGS[@]}" path="$remote" \
        timeout="$timeout" retries="$retries" channels="$channels" \
        --run "/usr/bin/python3 $srcdir/fault-explorer.py $(printf '%q ' "${args[@]}") \"\$uri\"" \
        2> nbdkit.err || r=$?
    [ "$r" -eq 0 ] || failed "status $r"
    /usr/bin/python3 "$srcdir/fault-explorer.py" --check --state state \
        --remote "$remote" || failed "the file after nbdkit exited"
    k=$(( k + 1 ))
    [ -z "${EXPLORER_REPLAY:-}" ] || break
done
echo "fault-explorer: $k trials in $(( SECONDS - start )) s, first seed $seed"
[ "$k" -gt 0 ] || { echo "FAIL: no trial ran"; exit 1; }
