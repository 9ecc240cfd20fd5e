# -*- mode: shell-script -*-
# shellcheck shell=bash
#
# Test harness for the nbdkit SSH plugin.  Sourced by every test:
#
#   set -e
#   source "$(dirname "$0")/functions.sh"
#
# Everything here is safe to use under "set -e".  Summary:
#
#   srcdir              absolute path of the directory holding this file
#                       (exported in PYTHONPATH: tests/sshdprocs.py)
#   PLUGIN              plugin to test: $PLUGIN from the environment (the
#                       Makefile exports the built ssh-plugin.so), else
#                       ../ssh-plugin.so.  A bare name (PLUGIN=ssh) is passed
#                       to nbdkit as is, to load an installed plugin.
#   requires CMD...     skip (exit 77), or fail under CI=true, if a command
#                       is missing
#   exclusive_test      run this test alone among the tests that call it
#                       (call it before start_sshd), see below
#   requires_run DESC CMD...
#                       skip/fail like requires unless CMD... succeeds
#   requires_libnbd_python
#                       requires /usr/bin/python3 with "import nbd"
#   cleanup_fn CMD ARGS...
#                       run CMD ARGS... when the test exits (reverse order)
#   start_sshd [sshd_config lines...]
#                       private sshd + ssh-agent on 127.0.0.1, see below
#                       (a "Subsystem sftp ..." line replaces the default
#                       one: tests/fake-sftp-server.py)
#   free_port           print a TCP port on 127.0.0.1 nothing listens on
#   run_nbdkit ARGS...  nbdkit ARGS..., under $SSH_PLUGIN_CHECK's checker
#                       and a timeout
#   run_nbdkit_fail ERRFILE ARGS...
#                       run_nbdkit ARGS... 2>ERRFILE, expecting failure;
#                       prints ERRFILE; fails if nbdkit succeeded
#   run_plugin [NBDKIT_OPTION...] PARAM... [--run CMD]
#                       the plugin against the test sshd: run_nbdkit
#                       NBDKIT_OPTION... -U - "$PLUGIN" "${SSH_ARGS[@]}"
#                       PARAM...; see below
#   run_plugin_fail ERRFILE [NBDKIT_OPTION...] PARAM... [--run CMD]
#                       the same through run_nbdkit_fail
#   expect_grep [-i] FILE STRING...
#                       fail (printing FILE) unless FILE contains every
#                       fixed STRING (-i: ignoring case), not counting the
#                       client tools' own lines ("nbdinfo: ..." etc.)
#   make_random_file FILE MIB [EXTRA_BYTES]
#   expect_no_error FILE
#                       nbdkit logged no error (": error: ") in FILE
#   compare_sha256 FILE1 FILE2
#   wait_pid_gone PID [SECONDS]
#   cont_sshd           resume every process of the test sshd (SIGCONT)
#   add_password_user PREFIX
#                       a local user with a password and a disk.img,
#                       removed at exit: TEST_USER TEST_PASSWORD TEST_HOME
#   add_key_user PREFIX an unprivileged local user without a password,
#                       removed at exit: TEST_USER TEST_HOME USER_ARGS
#                       (call before start_sshd, see below)
#   authorize_user_key  after start_sshd "AuthorizedKeysFile
#                       .ssh/authorized_keys": TEST_USER logs in with the
#                       agent's key
#   user_file NAME MIB MODE
#                       a random file in TEST_HOME, owned by TEST_USER
#   start_fault_proxy LOG ARGS...
#                       tests/fault-proxy in front of the test sshd:
#                       sets PROXY_PORT and PROXY_ARGS (host=, port=,
#                       known-hosts= through it); stop_fault_proxy
#   stop_sshd           stop the last start_sshd's sshd and agent (before
#                       calling start_sshd again)
#   write_proxy_command_config FILE
#                       an ssh_config for config=FILE: Host viaproxy
#                       reaches the test sshd through ProxyCommand
#                       "ssh -W" (the common real-world command)
#
# start_sshd exports SSHD_DIR SSHD_PORT SSHD_LOG SSHD_CONFIG SSH_AUTH_SOCK
# SSH_AGENT_PID KNOWN_HOSTS CLIENT_KEY HOST_KEY HOST_KEY_PUB HOST_FP_SHA256
# HOST_FP_MD5 and sets the array SSH_ARGS.  Everything it starts is stopped
# by the EXIT trap (each start_sshd's own sshd and agent, by pid), or by a
# watchdog process if the test is SIGKILLed.
#
# Leftovers: every process the test starts inherits SSH_PLUGIN_TEST_ID
# (unique to this run of this test) and SSH_PLUGIN_TEST_TREE (the build
# tree).  After the cleanup hooks, the EXIT trap looks for live processes
# (zombies count as dead) holding this SSH_PLUGIN_TEST_ID: it lists them,
# kills them and fails the test.  "make check" then runs
# tests/check-leftovers.sh, which looks for the whole tree's.
#
# Environment read here:
#   PLUGIN              see above
#   SSH_PLUGIN_CHECK    "" | valgrind | asan: checker for nbdkit (an ASan
#                       build of the plugin selects asan by itself)
#   NBDKIT_TIMEOUT      seconds per nbdkit run (120; 900 under valgrind)
#   CI=true             missing tools fail the test instead of skipping it

# /usr/bin first: nbdsh and "import nbd" need Debian's python3, not a
# pyenv shim that may come earlier in PATH.
PATH="/usr/bin:/bin:/usr/sbin:/sbin${PATH:+:$PATH}"
export PATH
export LC_ALL=C

# The test's own stderr (the log), kept for traces and command echoes so
# they never land in a file that a test redirected nbdkit's stderr to.
_log_fd=19
exec 19>&2
BASH_XTRACEFD=19

srcdir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Python helpers for the tests' scripts (tests/sshdprocs.py).
export PYTHONPATH="$srcdir${PYTHONPATH:+:$PYTHONPATH}"
export srcdir

# Seconds allowed to any nbdkit run (and the command under --run).
if [ -z "${NBDKIT_TIMEOUT:-}" ]; then
    case "${SSH_PLUGIN_CHECK:-}" in
        valgrind) NBDKIT_TIMEOUT=900 ;;
        *)        NBDKIT_TIMEOUT=120 ;;
    esac
fi

# ----------------------------------------------------------------------
# Skipping.

# _skip_or_fail MESSAGE: a test that cannot run is skipped (77), except
# under CI=true where it is a failure.
_skip_or_fail ()
{
    if [ "${CI:-}" = true ]; then
        echo "FAIL: $*" >&2
        exit 1
    else
        echo "$0: test skipped because $*" >&2
        exit 77
    fi
}

# exclusive_test: "make -j check" runs tests side by side.  Tests whose
# timing bounds matter (timeout=, stalls, keepalives) and tests that load
# the machine (the soak, guestfish's emulated VM) call this first: it
# runs the test again under flock(1) holding one lock file, so that no
# two of them overlap.  flock -o keeps the lock out of the test's
# children (a daemon left behind cannot hold it); the wait is bounded.
exclusive_test ()
{
    [ -z "${_SSH_PLUGIN_EXCLUSIVE:-}" ] || return 0
    export _SSH_PLUGIN_EXCLUSIVE=1
    exec flock -o -w 3600 -E 99 \
         "${TMPDIR:-/tmp}/nbdkit-ssh-plugin-tests.lock" \
         "$BASH" "$0"
}

requires ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local c
    for c in "$@"; do
        if ! command -v "$c" >/dev/null 2>&1; then
            _skip_or_fail "required tool $c missing"
        fi
    done
}

requires_run ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local desc="$1"; shift
    if ! "$@" >/dev/null 2>&1; then
        _skip_or_fail "required $desc missing ($* failed)"
    fi
}

# requires_libnbd_python: Debian's python3 with the libnbd bindings,
# which the tests' Python scripts (and nbdsh) use.
requires_libnbd_python ()
{
    requires /usr/bin/python3
    requires_run "python3 libnbd bindings" /usr/bin/python3 -c 'import nbd'
}

# ----------------------------------------------------------------------
# Cleanup, like nbdkit's tests/functions.sh: one EXIT trap runs every
# registered hook in reverse order of registration.

_cleanup_hooks=()
_exit_status=0

# Marks every process this test starts (see "Leftovers" above).  A new
# value on each run, also after exclusive_test's re-exec: the flock(1)
# process waiting for the re-run test holds the old one.
SSH_PLUGIN_TEST_ID="$$.${EPOCHREALTIME/[.,]/}.$RANDOM"
if [ -z "${SSH_PLUGIN_TEST_TREE:-}" ]; then
    SSH_PLUGIN_TEST_TREE="${abs_top_builddir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
fi
export SSH_PLUGIN_TEST_ID SSH_PLUGIN_TEST_TREE

cleanup_fn ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    _cleanup_hooks+=("$(printf '%q ' "$@")")
}

_run_cleanup_hooks ()
{
    _exit_status=$?
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local i
    set +e
    # How long each test took, for run-tests' list of the slowest.
    [ -z "${abs_top_builddir:-}" ] ||
        echo "$(( SECONDS - _test_started )) ${0##*/}" \
             >> "$abs_top_builddir/tests/durations.txt" 2>/dev/null
    trap '' INT QUIT TERM
    trap - EXIT
    cd / || :
    # Errors found by valgrind/ASan in any nbdkit run fail the test even
    # when nbdkit's own exit status did not show them (see run_nbdkit).
    if [ -n "${_CHECK_DIR:-}" ] && [ -s "$_CHECK_DIR/errors" ] &&
           [ "$_exit_status" -ne 77 ]; then
        echo "$0: ${SSH_PLUGIN_CHECK} reported errors in:" >&2
        cat "$_CHECK_DIR/errors" >&2
        _exit_status=119
    fi
    for (( i = ${#_cleanup_hooks[@]} - 1; i >= 0; --i )); do
        eval "${_cleanup_hooks[i]}"
    done
    if ! _check_leftovers; then
        case "$_exit_status" in
            0|77) _exit_status=1 ;;
        esac
    fi
    exit "$_exit_status"
}
_test_started=$SECONDS
trap _run_cleanup_hooks EXIT
trap 'exit 130' INT
trap 'exit 131' QUIT
trap 'exit 143' TERM

# ----------------------------------------------------------------------
# Processes.  Zombies are not reaped on every machine (orphans of a
# daemon may be re-parented to a PID 1 that never waits), so a process in
# state Z counts as gone.

_pid_alive ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local stat state
    # read, not $(cat ...): no fork (the cleanup looks at every process).
    # -d '': the whole file, also when the name in it has a newline
    # (read then fails at the end of the file: stat is what counts).
    stat=
    { IFS= read -r -d '' stat < "/proc/$1/stat"; } 2>/dev/null || :
    [ -n "$stat" ] || return 1
    state="${stat##*) }"
    state="${state%% *}"
    [ "$state" != Z ] && [ "$state" != X ]
}

# wait_pid_gone PID [SECONDS]: 0 once PID is gone or a zombie, 1 on timeout.
wait_pid_gone ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local pid="$1" secs="${2:-5}" i
    for (( i = 0; i < secs * 10; ++i )); do
        _pid_alive "$pid" || return 0
        sleep 0.1
    done
    ! _pid_alive "$pid"
}

# _descendants PID: print every live descendant of PID.
_descendants ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local -A kids=()
    local f stat rest pid ppid
    for f in /proc/[0-9]*/stat; do
        stat=                        # as in _pid_alive
        { IFS= read -r -d '' stat < "$f"; } 2>/dev/null || :
        [ -n "$stat" ] || continue
        pid="${stat%% *}"
        rest="${stat##*) }"          # "S PPID ..."
        rest="${rest#* }"
        ppid="${rest%% *}"
        kids[$ppid]+="$pid "
    done
    local -a todo=("$1")
    local p c
    while [ ${#todo[@]} -gt 0 ]; do
        p="${todo[0]}"
        todo=("${todo[@]:1}")
        for c in ${kids[$p]:-}; do
            echo "$c"
            todo+=("$c")
        done
    done
}

# cont_sshd: SIGCONT the test sshd and all its processes (after a test
# stalled some with SIGSTOP, see tests/sshdprocs.py).
cont_sshd ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local pid p
    pid="$(cat "$SSHD_DIR/sshd.pid" 2>/dev/null)" || return 0
    [ -n "$pid" ] || return 0
    for p in "$pid" $(_descendants "$pid"); do
        kill -CONT "$p" 2>/dev/null || :
    done
}

# kill_tree PID: TERM PID and its descendants, bounded wait, then KILL.
kill_tree ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local pid="$1" p
    [ -n "$pid" ] || return 0
    local -a all
    mapfile -t all < <(echo "$pid"; _descendants "$pid")
    # SIGCONT after SIGTERM: a test may have stopped (stalled) a process.
    for p in "${all[@]}"; do
        kill -TERM "$p" 2>/dev/null || :
        kill -CONT "$p" 2>/dev/null || :
    done
    for p in "${all[@]}"; do
        if ! wait_pid_gone "$p" 5; then
            kill -KILL "$p" 2>/dev/null || :
            wait_pid_gone "$p" 2 || echo "warning: pid $p did not die" >&2
        fi
    done
}

# _tagged_pids: live processes (not zombies) holding this test's
# SSH_PLUGIN_TEST_ID.  grep runs without it; the test's shell and its
# subshells do not have it in /proc/PID/environ (it was exported after
# bash started).
_tagged_pids ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local f pid
    for f in $(env -u SSH_PLUGIN_TEST_ID grep -l -s -z -x -F \
                   "SSH_PLUGIN_TEST_ID=$SSH_PLUGIN_TEST_ID" /proc/[0-9]*/environ); do
        pid="${f#/proc/}"
        pid="${pid%/environ}"
        if [ "$pid" != "$$" ] && _pid_alive "$pid"; then
            echo "$pid"
        fi
    done
}

# _check_leftovers: 0 if nothing this test started is still running
# (after a bounded grace period for processes on their way out); else
# list them, kill them and return 1.
_check_leftovers ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local -a left=()
    local i p
    for (( i = 0; i < 30; ++i )); do
        mapfile -t left < <(_tagged_pids)
        [ "${#left[@]}" -eq 0 ] && return 0
        sleep 0.1
    done
    echo "FAIL: $0 left processes running:" >&2
    for p in "${left[@]}"; do
        echo "  pid $p: $(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)" >&2
    done
    for p in "${left[@]}"; do kill_tree "$p"; done
    return 1
}

# ----------------------------------------------------------------------
# The plugin under test.

if [ -z "${PLUGIN:-}" ]; then
    if [ -f "$PWD/../ssh-plugin.so" ]; then
        PLUGIN="$PWD/../ssh-plugin.so"
    else
        PLUGIN="$srcdir/../ssh-plugin.so"
    fi
fi
case "$PLUGIN" in
    */*)
        # Absolute, as tests change directory.
        if [ -f "$PLUGIN" ]; then
            PLUGIN="$(cd "$(dirname "$PLUGIN")" && pwd)/$(basename "$PLUGIN")"
        else
            _skip_or_fail "plugin $PLUGIN not built (run make first)"
        fi
        ;;
esac
export PLUGIN

# A plugin built with --enable-sanitizers cannot be loaded by nbdkit
# without the ASan runtime preloaded: choose the asan checker for it.
if [ -z "${SSH_PLUGIN_CHECK:-}" ] && [ -f "$PLUGIN" ] &&
       grep -q -a -F 'libasan.so' "$PLUGIN"; then
    echo "$0: $PLUGIN is built with ASan: using SSH_PLUGIN_CHECK=asan" >&2
    SSH_PLUGIN_CHECK=asan
fi

# ----------------------------------------------------------------------
# Running nbdkit.

# Reports of the checker (valgrind, ASan) land here; created up front so
# that run_nbdkit also works in a subshell.
_CHECK_DIR=
case "${SSH_PLUGIN_CHECK:-}" in
    valgrind|asan)
        _CHECK_DIR="$(mktemp -d /tmp/sshcheck.XXXXXX)"
        mkdir "$_CHECK_DIR/seen"
        cleanup_fn rm -rf "$_CHECK_DIR"
        ;;
esac

# _quote_run CMD: in ASan mode, keep the preloaded runtime out of the
# --run command's programs (nbdinfo, qemu-img, python3...).
_quote_run ()
{
    printf 'unset LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS; %s' "$1"
}

run_nbdkit ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local -a prefix=() args=()
    local a asan r=0 f
    case "${SSH_PLUGIN_CHECK:-}" in
        ""|none|no) args=("$@") ;;
        valgrind)
            requires valgrind
            # With --run, nbdkit's exit status is the --run command's, so
            # valgrind's --error-exitcode in the forked server is lost:
            # look at the log files instead (empty when all is clean).
            prefix=(valgrind --leak-check=full --error-exitcode=119
                    --keep-debuginfo=yes
                    --suppressions="$srcdir/valgrind.supp" --quiet
                    --log-file="$_CHECK_DIR/vg.%p.log")
            args=("$@")
            ;;
        asan)
            asan="$(gcc -print-file-name=libasan.so 2>/dev/null)" || :
            case "$asan" in
                /*) ;;
                *) _skip_or_fail "libasan.so not found (gcc -print-file-name)" ;;
            esac
            # nbdkit is not instrumented, so the ASan runtime is preloaded
            # and initializes lazily on the first malloc.  libp11-kit's
            # constructor (nbdkit -> gnutls -> p11-kit) calls newlocale(),
            # whose malloc would then run ASan's initialization while
            # glibc's setlocale lock is held; that corrupts the lock and
            # nbdkit later hangs at exit after any strerror().  Loading
            # libp11-kit ahead of libasan makes its constructor run after
            # ASan is initialized.
            local preload="$asan" p11kit
            p11kit="$(ldd "$(command -v nbdkit)" 2>/dev/null |
                      awk '$1 ~ /^libp11-kit\.so/ && $3 ~ /^\// { print $3; exit }')"
            [ -z "$p11kit" ] || preload="$p11kit $asan"
            prefix=(env LD_PRELOAD="$preload"
                    ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:verify_asan_link_order=0:log_path=$_CHECK_DIR/asan${ASAN_EXTRA_OPTIONS:+:$ASAN_EXTRA_OPTIONS}"
                    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$_CHECK_DIR/ubsan")
            local next_is_run=
            for a in "$@"; do
                if [ -n "$next_is_run" ]; then
                    args+=("$(_quote_run "$a")"); next_is_run=
                elif [ "$a" = --run ]; then
                    args+=("$a"); next_is_run=1
                elif [[ "$a" == --run=* ]]; then
                    args+=("--run=$(_quote_run "${a#--run=}")")
                else
                    args+=("$a")
                fi
            done
            ;;
        *)
            echo "run_nbdkit: unknown SSH_PLUGIN_CHECK=$SSH_PLUGIN_CHECK" >&2
            return 1
            ;;
    esac

    echo "+ ${prefix[*]}${prefix[*]:+ }nbdkit $(printf '%q ' "${args[@]}")" >&$_log_fd
    timeout --kill-after=10 "$NBDKIT_TIMEOUT" "${prefix[@]}" nbdkit "${args[@]}" || r=$?
    if [ "$r" -eq 124 ] || [ "$r" -eq 137 ]; then
        echo "run_nbdkit: nbdkit timed out after ${NBDKIT_TIMEOUT}s" >&2
    fi

    if [ -n "$_CHECK_DIR" ]; then
        for f in "$_CHECK_DIR"/vg.*.log "$_CHECK_DIR"/asan.* "$_CHECK_DIR"/ubsan.*; do
            [ -s "$f" ] || continue
            echo "===== $SSH_PLUGIN_CHECK report $f =====" >&2
            cat "$f" >&2
            echo "nbdkit $*" >> "$_CHECK_DIR/errors"
            mv "$f" "$_CHECK_DIR/seen/"
            [ "$r" -ne 0 ] || r=119
        done
    fi
    return "$r"
}

# run_nbdkit_fail ERRFILE ARGS...: nbdkit must fail; its stderr is kept in
# ERRFILE and printed.
run_nbdkit_fail ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local errfile="$1" r=0
    shift
    run_nbdkit "$@" 2>"$errfile" || r=$?
    echo "----- nbdkit exit status $r, stderr: -----" >&2
    cat "$errfile" >&2
    echo "-----" >&2
    if [ "$r" -eq 0 ]; then
        echo "FAIL: nbdkit $* succeeded, expected failure" >&2
        return 1
    fi
    if [ "$r" -eq 124 ] || [ "$r" -eq 137 ]; then
        echo "FAIL: nbdkit $* timed out instead of failing" >&2
        return 1
    fi
    return 0
}

# run_plugin [NBDKIT_OPTION...] PARAM... [--run CMD]: the usual captive
# nbdkit of the tests, on a private Unix socket (-U -: --run's "$uri" is
# its NBD URI), serving with the plugin under test from the sshd of the
# last start_sshd (SSH_ARGS: host=127.0.0.1, its port and known-hosts=;
# the agent holds the client key).  The leading arguments that begin with
# "-" are nbdkit's options and go before the plugin (-D, -P, -e, -t and
# the like take the next argument as their value; not -U); the rest are
# the plugin's parameters, and --run.  A test that needs other host,
# port or known_hosts arguments calls run_nbdkit.
run_plugin ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    _plugin_argv "$@"
    run_nbdkit "${_plugin_argv[@]}"
}

# run_plugin_fail ERRFILE [NBDKIT_OPTION...] PARAM... [--run CMD]: nbdkit
# must fail (run_nbdkit_fail).
run_plugin_fail ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local errfile="$1"
    shift
    _plugin_argv "$@"
    run_nbdkit_fail "$errfile" "${_plugin_argv[@]}"
}

# _plugin_argv ARGS...: sets the array _plugin_argv to run_plugin's
# arguments for nbdkit.
_plugin_argv ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    if [ "${#SSH_ARGS[@]}" -eq 0 ]; then
        echo "run_plugin: call start_sshd first" >&2
        return 1
    fi
    _plugin_argv=()
    while [ "$#" -gt 0 ]; do
        case "$1" in
            -U|--unix|--unix=*)
                echo "run_plugin: $1: the socket is -U - (use run_nbdkit)" >&2
                return 1
                ;;
            -[DPeguipt]|--debug|--pidfile|--exportname|--filter|--group|\
                --user|--ipaddr|--port|--threads|--run)
                if [ "$#" -lt 2 ]; then
                    echo "run_plugin: $1 needs a value" >&2
                    return 1
                fi
                _plugin_argv+=("$1" "$2")
                shift 2
                ;;
            -*) _plugin_argv+=("$1"); shift ;;
            *) break ;;
        esac
    done
    _plugin_argv+=(-U - "$PLUGIN" "${SSH_ARGS[@]}" "$@")
}

# expect_grep [-i] FILE STRING...
# expect_no_error FILE: nbdkit logged no error in FILE (a line with
# ": error: ", as nbdkit prints nbdkit_error).
expect_no_error ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    if grep -F -e ": error: " "$1" >&2; then
        echo "FAIL: nbdkit logged the error(s) above in $1" >&2
        return 1
    fi
}

expect_grep ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local opt=
    if [ "$1" = -i ]; then opt=-i; shift; fi
    local file="$1" s
    shift
    for s in "$@"; do
        if ! grep -v -E '^(nbdinfo|nbdcopy|nbdsh|qemu-img): ' "$file" |
                grep -q $opt -F -e "$s"; then
            echo "FAIL: expected '$s' in $file${opt:+ (ignoring case)}, which has:" >&2
            cat "$file" >&2
            return 1
        fi
    done
}

# ----------------------------------------------------------------------
# Data.

# make_random_file FILE MIB [EXTRA_BYTES]
make_random_file ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local n=$(( $2 * 1024 * 1024 + ${3:-0} ))
    head -c "$n" /dev/urandom > "$1"
    if [ "$(stat -c %s "$1")" -ne "$n" ]; then
        echo "make_random_file: could not write $n bytes to $1" >&2
        return 1
    fi
}

# compare_sha256 FILE1 FILE2
compare_sha256 ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local a b
    a="$(sha256sum < "$1")"; a="${a%% *}"
    b="$(sha256sum < "$2")"; b="${b%% *}"
    if [ "$a" != "$b" ]; then
        echo "FAIL: $1 and $2 differ:" >&2
        echo "  $a  $1 ($(stat -c %s "$1") bytes)" >&2
        echo "  $b  $2 ($(stat -c %s "$2") bytes)" >&2
        cmp "$1" "$2" 2>&1 | head -n 3 >&2 || :
        return 1
    fi
}

# ----------------------------------------------------------------------
# Private sshd and agent.

# free_port: a TCP port on 127.0.0.1 with nothing listening (now).
free_port ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    /usr/bin/python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

_port_open ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

_sshd_pid ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local pid='' dir="${1:-$SSHD_DIR}"
    [ -s "$dir/sshd.pid" ] && read -r pid < "$dir/sshd.pid"
    echo "$pid"
}

# _stop_sshd DIR: stop the sshd of that start_sshd's directory (each
# start_sshd registers its own, so a second one does not hide the first).
_stop_sshd ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local dir="$1" pid
    pid="$(_sshd_pid "$dir")"
    if [ "$_exit_status" -ne 0 ] && [ "$_exit_status" -ne 77 ] &&
           [ -s "$dir/sshd.log" ]; then
        echo "===== last lines of $dir/sshd.log (without debug) =====" >&2
        grep -v '^debug' "$dir/sshd.log" | tail -n 40 >&2
    fi
    [ -n "$pid" ] && kill_tree "$pid"
    rm -f "$dir/sshd.pid"
}

# _stop_agent PID: stop that start_sshd's ssh-agent.
_stop_agent ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local pid="$1"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || :
    if ! wait_pid_gone "$pid" 5; then
        kill -KILL "$pid" 2>/dev/null || :
        wait_pid_gone "$pid" 2 || echo "warning: ssh-agent pid $pid did not die" >&2
    fi
}

# stop_sshd: stop the sshd and the agent started last (before starting
# others).  Their directory stays until the test exits.
stop_sshd ()
{
    _exit_status=0 _stop_sshd "$SSHD_DIR"
    _stop_agent "${SSH_AGENT_PID:-}"
}

# _try_start_sshd: one attempt on a fresh port.  0 = running, 1 = retry.
_try_start_sshd ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local i pid r=0
    SSHD_PORT="$(free_port)"
    {
        # Extra lines first: in sshd_config the first value wins, so
        # they override the defaults below.
        local line subsystem=yes
        for line in "$@"; do
            echo "$line"
            # sshd refuses a second Subsystem line for sftp.
            case "$line" in [Ss]ubsystem\ sftp\ *) subsystem= ;; esac
        done
        echo "ListenAddress 127.0.0.1"
        echo "Port $SSHD_PORT"
        echo "HostKey $HOST_KEY"
        echo "PidFile $SSHD_DIR/sshd.pid"
        echo "AuthorizedKeysFile $SSHD_DIR/authorized_keys"
        echo "StrictModes no"
        echo "UsePAM no"
        echo "PermitRootLogin prohibit-password"
        echo "PubkeyAuthentication yes"
        echo "PasswordAuthentication no"
        echo "KbdInteractiveAuthentication no"
        echo "UseDNS no"
        # bash sources ~/.bashrc for commands run by sshd (also for the
        # sftp subsystem, started as "bash -c sftp-server") unless it
        # is a nested shell: root's .bashrc on these machines runs
        # "pyenv init", which costs half a second per session and, when
        # a test kills a session in the middle of it, leaves a lock
        # that makes every later session wait 60 s.
        echo "SetEnv SHLVL=1"
        [ -z "$subsystem" ] ||
            echo "Subsystem sftp /usr/lib/openssh/sftp-server"
        echo "LogLevel DEBUG"
    } > "$SSHD_CONFIG"
    : > "$SSHD_LOG"
    rm -f "$SSHD_DIR/sshd.pid"

    # sshd daemonizes; the pid file appears once the socket is bound.
    timeout 20 /usr/sbin/sshd -f "$SSHD_CONFIG" -E "$SSHD_LOG" 19>&- || r=$?
    if [ "$r" -ne 0 ]; then
        echo "start_sshd: sshd exited with status $r:" >&2
        cat "$SSHD_LOG" >&2
        return 2
    fi
    for (( i = 0; i < 100; ++i )); do
        pid="$(_sshd_pid)"
        if [ -n "$pid" ] && _pid_alive "$pid" && _port_open "$SSHD_PORT"; then
            return 0
        fi
        if grep -q -e "Cannot bind any address" -e "Address already in use" "$SSHD_LOG"; then
            echo "start_sshd: port $SSHD_PORT was taken, retrying" >&2
            [ -n "$pid" ] && kill_tree "$pid"
            return 1
        fi
        if grep -q -e "fatal" "$SSHD_LOG"; then
            echo "start_sshd: sshd failed:" >&2
            cat "$SSHD_LOG" >&2
            return 2
        fi
        sleep 0.1
    done
    echo "start_sshd: sshd not ready on port $SSHD_PORT after 10s" >&2
    pid="$(_sshd_pid)"
    [ -n "$pid" ] && kill_tree "$pid"
    return 1
}

# _start_watchdog: a background guard that stops sshd and the agent and
# removes $SSHD_DIR if the test dies without running its EXIT trap (for
# instance SIGKILLed by an outer timeout).  It ignores the terminal and
# termination signals sent to the whole process group, keeps none of the
# test's output open, and is itself SIGKILLed by the normal cleanup.
_start_watchdog ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local test_pid=$$
    (
        set +e
        trap '' INT QUIT TERM HUP
        exec </dev/null >/dev/null 2>&1 19>&-
        while _pid_alive "$test_pid"; do sleep 1; done
        _stop_sshd "$SSHD_DIR"
        _stop_agent "$SSH_AGENT_PID"
        rm -rf "$SSHD_DIR"
    ) &
    cleanup_fn _stop_watchdog "$!"
}

_stop_watchdog ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local -a all
    mapfile -t all < <(echo "$1"; _descendants "$1")
    kill -KILL "${all[@]}" 2>/dev/null || :
    wait "$1" 2>/dev/null || :
}

start_sshd ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    local attempt r i
    requires ssh ssh-keygen ssh-agent ssh-add timeout /usr/bin/python3
    [ -x /usr/sbin/sshd ] || _skip_or_fail "required tool /usr/sbin/sshd missing"
    [ -x /usr/lib/openssh/sftp-server ] ||
        _skip_or_fail "required tool /usr/lib/openssh/sftp-server missing"

    SSHD_DIR="$(mktemp -d /tmp/sshtest.XXXXXX)"
    cleanup_fn rm -rf "$SSHD_DIR"
    SSHD_CONFIG="$SSHD_DIR/sshd_config"
    SSHD_LOG="$SSHD_DIR/sshd.log"
    HOST_KEY="$SSHD_DIR/host_key"
    HOST_KEY_PUB="$HOST_KEY.pub"
    CLIENT_KEY="$SSHD_DIR/client_key"
    KNOWN_HOSTS="$SSHD_DIR/known_hosts"

    ssh-keygen -q -t ed25519 -N '' -C sshtest-host -f "$HOST_KEY"
    ssh-keygen -q -t ed25519 -N '' -C sshtest-client -f "$CLIENT_KEY"
    cp "$CLIENT_KEY.pub" "$SSHD_DIR/authorized_keys"
    HOST_FP_SHA256="$(ssh-keygen -l -f "$HOST_KEY_PUB" | awk '{print $2}')"
    HOST_FP_MD5="$(ssh-keygen -E md5 -l -f "$HOST_KEY_PUB" | awk '{print $2}')"
    HOST_FP_MD5="${HOST_FP_MD5#MD5:}"

    # Privilege separation directory (needs root; harmless otherwise).
    mkdir -p /run/sshd 2>/dev/null || :

    cleanup_fn _stop_sshd "$SSHD_DIR"
    for attempt in 1 2 3 4 5; do
        r=0
        _try_start_sshd "$@" || r=$?
        [ "$r" -eq 0 ] && break
        if [ "$r" -eq 2 ] || [ "$attempt" -eq 5 ]; then
            echo "FAIL: could not start sshd" >&2
            return 1
        fi
    done

    printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$HOST_KEY_PUB")" \
           > "$KNOWN_HOSTS"

    # Agent holding the client key.
    local agent_out
    agent_out="$(timeout 10 ssh-agent -s -a "$SSHD_DIR/agent.sock" 19>&-)"
    SSH_AGENT_PID="$(printf '%s\n' "$agent_out" | sed -n 's/^SSH_AGENT_PID=\([0-9]*\);.*/\1/p')"
    SSH_AUTH_SOCK="$SSHD_DIR/agent.sock"
    if [ -z "$SSH_AGENT_PID" ]; then
        echo "FAIL: could not start ssh-agent: $agent_out" >&2
        return 1
    fi
    cleanup_fn _stop_agent "$SSH_AGENT_PID"
    for (( i = 0; i < 50; ++i )); do
        [ -S "$SSH_AUTH_SOCK" ] && break
        sleep 0.1
    done
    export SSH_AUTH_SOCK SSH_AGENT_PID
    timeout 10 ssh-add -q "$CLIENT_KEY"

    export SSHD_DIR SSHD_PORT SSHD_LOG SSHD_CONFIG KNOWN_HOSTS CLIENT_KEY \
           HOST_KEY HOST_KEY_PUB HOST_FP_SHA256 HOST_FP_MD5
    # shellcheck disable=SC2034  # used by the tests
    SSH_ARGS=(host=127.0.0.1 "port=$SSHD_PORT" "known-hosts=$KNOWN_HOSTS")

    # Sanity check of the setup itself with OpenSSH's client, so a broken
    # environment is not mistaken for a plugin bug.  Only for the default
    # configuration: extra lines may turn key authentication off.
    if [ "$#" -eq 0 ] && ! timeout 20 ssh -F /dev/null -o BatchMode=yes \
         -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$KNOWN_HOSTS" \
         -o GlobalKnownHostsFile=/dev/null \
         -p "$SSHD_PORT" 127.0.0.1 true </dev/null; then
        echo "FAIL: ssh to the test sshd does not work (environment problem)" >&2
        tail -n 40 "$SSHD_LOG" >&2
        return 1
    fi
    _start_watchdog
    echo "start_sshd: sshd pid $(_sshd_pid) on 127.0.0.1:$SSHD_PORT, dir $SSHD_DIR, agent pid $SSH_AGENT_PID" >&2
}

# sftp_sessions: how many SFTP sessions (the sftp subsystem started on
# a channel) the test sshd has logged so far; a test compares counts
# taken before and after.
sftp_sessions ()
{
    grep -c "Starting session: subsystem 'sftp'" "$SSHD_LOG" || :
}

# ----------------------------------------------------------------------
# The fault proxy (tests/fault-proxy.c) between the plugin and the sshd.

_FAULT_PROXY_PID=

# stop_fault_proxy: stop the proxy of start_fault_proxy, if running.
stop_fault_proxy ()
{
    [ -n "$_FAULT_PROXY_PID" ] || return 0
    kill "$_FAULT_PROXY_PID" 2>/dev/null || :
    wait_pid_gone "$_FAULT_PROXY_PID" 5 ||
        kill -KILL "$_FAULT_PROXY_PID" 2>/dev/null || :
    wait "$_FAULT_PROXY_PID" 2>/dev/null || :
    _FAULT_PROXY_PID=
}

# write_proxy_command_config FILE: an ssh_config in which host viaproxy
# is the test sshd, reached through ProxyCommand "ssh -W %h:%p".
write_proxy_command_config ()
{
    cat > "$1" <<CONF
Host viaproxy
    HostName 127.0.0.1
    Port $SSHD_PORT
    ProxyCommand ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$KNOWN_HOSTS -i $CLIENT_KEY -p %p -W %h:%p %r@%h
CONF
}

# start_fault_proxy LOG ARGS...: start tests/fault-proxy in front of the
# test sshd (after start_sshd, in $SSHD_DIR) with ARGS (-m MODE ...: see
# fault-proxy.c), its messages to LOG; stops the one started before.
# Sets PROXY_PORT and PROXY_ARGS (host=, port= and known-hosts= that
# reach the sshd through the proxy, the host key being known there).
start_fault_proxy ()
{
    local log="$1" proxy i
    shift
    # Built by "make check"; standalone, compiled here.
    if [ -n "${abs_top_builddir:-}" ] &&
           [ -x "$abs_top_builddir/tests/fault-proxy" ]; then
        proxy="$abs_top_builddir/tests/fault-proxy"
    else
        proxy="$SSHD_DIR/fault-proxy"
        if [ ! -x "$proxy" ]; then
            requires cc
            cc -std=gnu11 -O2 -Wall -Wextra -Werror -pthread \
               -o "$proxy" "$srcdir/fault-proxy.c"
        fi
    fi
    if [ -z "${_FAULT_PROXY_CLEANUP:-}" ]; then
        cleanup_fn stop_fault_proxy
        _FAULT_PROXY_CLEANUP=1
    fi
    stop_fault_proxy
    rm -f proxy.port
    "$proxy" -p proxy.port -t "$SSHD_PORT" "$@" 2> "$log" &
    _FAULT_PROXY_PID=$!
    for (( i = 0; i < 100; ++i )); do
        [ -s proxy.port ] && break
        sleep 0.1
    done
    [ -s proxy.port ] || {
        echo "FAIL: fault-proxy did not start"; cat "$log"; exit 1; }
    PROXY_PORT="$(cat proxy.port)"
    printf '[127.0.0.1]:%s %s\n' "$PROXY_PORT" \
           "$(cut -d' ' -f1,2 "$HOST_KEY_PUB")" >> "$KNOWN_HOSTS"
    # shellcheck disable=SC2034  # used by the tests
    PROXY_ARGS=(host=127.0.0.1 "port=$PROXY_PORT" "known-hosts=$KNOWN_HOSTS")
}

# ----------------------------------------------------------------------
# A small file system that can fill up.

# mount_tmpfs SIZE NAME: mount a tmpfs of SIZE (mount's size=, e.g. 8m)
# on a new directory /tmp/NAME.XXXXXX, set TMPFS_DIR to it, and unmount
# it (bounded; lazily if something still holds it) when the test exits.
# Call it before start_sshd, so that the unmount comes after sshd and
# its sftp-servers have stopped.  Needs root.
mount_tmpfs ()
{
    requires mount umount
    [ "$(id -u)" -eq 0 ] || _skip_or_fail "this test must run as root (mount)"
    TMPFS_DIR="$(mktemp -d "/tmp/$2.XXXXXX")"
    cleanup_fn rmdir "$TMPFS_DIR"
    mount -t tmpfs -o "size=$1,mode=0755" "nbdkit-ssh-$2" "$TMPFS_DIR" ||
        _skip_or_fail "cannot mount a tmpfs on $TMPFS_DIR"
    cleanup_fn _unmount_tmpfs "$TMPFS_DIR"
}

_unmount_tmpfs ()
{
    timeout 10 umount "$1" 2>/dev/null || timeout 10 umount -l "$1" || :
}

# ----------------------------------------------------------------------
# A local user with a password (tests of password authentication).

# add_password_user PREFIX: create a user PREFIX<pid> with a random
# password and a 1 MiB random disk.img in its home, removed when the
# test exits.  Sets TEST_USER, TEST_PASSWORD and TEST_HOME.  Needs root.
add_password_user ()
{
    requires useradd userdel chpasswd
    [ "$(id -u)" -eq 0 ] || _skip_or_fail "this test must run as root (useradd)"
    TEST_USER="$1$$"
    TEST_PASSWORD="Pw-$$-$RANDOM-secret"
    useradd -m -s /bin/sh "$TEST_USER"
    cleanup_fn userdel -r -f "$TEST_USER"
    echo "$TEST_USER:$TEST_PASSWORD" | chpasswd
    TEST_HOME="$(getent passwd "$TEST_USER" | cut -d: -f6)"
    make_random_file "$TEST_HOME/disk.img" 1
    chown "$TEST_USER" "$TEST_HOME/disk.img"
}

# ----------------------------------------------------------------------
# An unprivileged user that logs in with the agent's key (tests of
# permission errors: root would bypass file modes).

# add_key_user PREFIX: create a user PREFIX<pid>, removed when the test
# exits, with no password but not locked ("!" in /etc/shadow would make
# sshd refuse it).  Call it before start_sshd (so that the user is
# removed after sshd has stopped), start the sshd with
# "AuthorizedKeysFile .ssh/authorized_keys" (sshd reads the keys as the
# user, who cannot read the test's private directory), then call
# authorize_user_key.  Sets TEST_USER, TEST_HOME and the array USER_ARGS
# (user=); path= is then relative to TEST_HOME.  Needs root.
add_key_user ()
{
    requires useradd userdel usermod
    [ "$(id -u)" -eq 0 ] || _skip_or_fail "this test must run as root (useradd)"
    TEST_USER="$1$$"
    useradd -m -s /bin/sh "$TEST_USER"
    cleanup_fn userdel -r -f "$TEST_USER"
    usermod -p '*' "$TEST_USER"
    TEST_HOME="$(getent passwd "$TEST_USER" | cut -d: -f6)"
    # shellcheck disable=SC2034  # used by the tests
    USER_ARGS=(user="$TEST_USER")
}

# authorize_user_key: the client key of the last start_sshd (the one
# its agent holds) in TEST_USER's ~/.ssh/authorized_keys; again after
# each start_sshd.
authorize_user_key ()
{
    install -d -o "$TEST_USER" -m 700 "$TEST_HOME/.ssh"
    install -o "$TEST_USER" -m 600 "$CLIENT_KEY.pub" \
            "$TEST_HOME/.ssh/authorized_keys"
}

# user_file NAME MIB MODE: a random file of MIB MiB, TEST_HOME/NAME,
# owned by TEST_USER, with MODE.
user_file ()
{
    make_random_file "$TEST_HOME/$1" "$2"
    chown "$TEST_USER" "$TEST_HOME/$1"
    chmod "$3" "$TEST_HOME/$1"
}
