#!/usr/bin/env bash
# check-leftovers.sh TREE: run by "make check" after the tests (the
# check-local target).  Fails, listing them, if processes started by this
# build tree's tests are still running: processes whose environment has
# SSH_PLUGIN_TEST_TREE=TREE (functions.sh exports it, so every process a
# test starts inherits it: sshd, ssh-agent, nbdkit, clients, proxies), or
# whose command line loads TREE/ssh-plugin.so.  Zombies count as dead.
# Only TREE's processes are considered, so test runs of other trees on
# the same machine are never flagged; this script and its ancestors (make)
# are left out.  The wait for processes on their way out is bounded.

set -e
export LC_ALL=C
# Run without the marker ourselves (then our subshells cannot match).
if [ -n "${SSH_PLUGIN_TEST_TREE+set}" ]; then
    exec env -u SSH_PLUGIN_TEST_TREE "$BASH" "$0" "$@"
fi

tree="${1:?usage: check-leftovers.sh ABS_TOP_BUILDDIR}"
tree="$(cd "$tree" && pwd)"
plugin="$tree/ssh-plugin.so"

# Ourselves and our ancestors (make, the shell of the recipe...).
declare -A skip=()
p=$$
while [ -n "$p" ] && [ "$p" -gt 1 ]; do
    skip[$p]=1
    stat="$(cat "/proc/$p/stat" 2>/dev/null)" || break
    rest="${stat##*) }"
    rest="${rest#* }"
    p="${rest%% *}"
done

alive ()
{
    local stat state
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
    state="${stat##*) }"
    state="${state%% *}"
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# leftovers: print "PID: CMDLINE" for each live process of TREE's tests.
leftovers ()
{
    local f pid cmd
    local -A seen=()
    for f in $(grep -l -s -z -x -F "SSH_PLUGIN_TEST_TREE=$tree" \
                   /proc/[0-9]*/environ) \
             $(grep -l -s -z -x -F "$plugin" /proc/[0-9]*/cmdline); do
        pid="${f#/proc/}"
        pid="${pid%/*}"
        if [ -n "${skip[$pid]:-}" ] || [ -n "${seen[$pid]:-}" ]; then
            continue
        fi
        seen[$pid]=1
        alive "$pid" || continue
        cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || continue
        echo "$pid: $cmd"
    done
}

list=
for (( i = 0; i < 50; ++i )); do
    list="$(leftovers)"
    [ -n "$list" ] || exit 0
    sleep 0.1
done

echo "FAIL: processes of $tree's tests still running after make check:" >&2
while read -r line; do echo "  pid $line"; done <<< "$list" >&2
echo "(kill them by pid; each test's log shows which test started them)" >&2
exit 1
