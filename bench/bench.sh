#!/usr/bin/env bash
# Side-by-side benchmark of the plugin against what users would pick
# instead.  Not a test: nothing here asserts on timings.
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
#
# Run from the top of the build tree ("make bench" does that), or
# directly.  See bench/README.md.  Settings (environment):
#
#   SIZE=MIB          test file for RTT 0 (default 1024, smaller if the
#                     temporary directory is short of space)
#   RTTS="0 10 50 100"  round trips to test, in ms; 0 = straight to sshd,
#                     otherwise through bench/delay-proxy adding RTT/2 per
#                     direction
#   SEQ_RTT_SIZE=128  file size in MiB of the sequential cases (seq-read,
#                     seq-write, comp) at every RTT > 0, at most SIZE
#   RTT_SIZE=MIB      file size of the other cases at every RTT > 0
#                     (default: the largest power of two <= 3200/RTT, at
#                     least 16, at most SIZE)
#   REPEAT=3          repetitions; the table shows medians
#   RAND_SECS=5       duration of each random-read and random-write run
#   MULTI_CONN=default  the multi-conn nbdcopy runs: "default" = nbdcopy's
#                     own choice (4 connections, but no more than its
#                     threads, which default to nproc), or N for
#                     --connections=N --threads=N
#   RUN_TIMEOUT=300   seconds allowed to any one run
#   PEER_MAX_RTT=50   above this RTT (ms), nbdkit-ssh is left out of the
#                     sequential cases (about 1 MiB/s at 100 ms)
#   CONTENDERS="ours nbdkit-ssh ssh-cat sftp-get"  (ssh-cat, the yardstick
#                     of the sequential tables, runs whenever seq-read or
#                     seq-write does)
#   CASES="seq-read seq-write rand rand-write connect write4 comp"
#   COMP_RTT=10       the RTT (one of RTTS) of the "comp" case: 1-connection
#                     reads of zeros and of random data with compression=
#                     false and true
#   RANDIO=auto       random reads with fio (nbd engine) | python | auto
#                     (fio if it has nbd); random writes always use python
#   IDLE_KEEP=10      idle-keep= given to our plugin in the connect case,
#                     if its --help mentions idle-keep
#   WRITE_CONNS=4     connections of the write4 case
#   PLUGIN=FILE       our plugin (default ./ssh-plugin.so of the build tree)
#   PEER_PLUGIN=FILE  nbdkit's libssh ssh plugin (default: the installed one)
#   DELAY_PROXY=FILE  the proxy binary (default bench/delay-proxy of the
#                     build tree, else compiled here with cc)
#   OUT_DIR=DIR       where results-*.txt/.md go (default: bench/ in the
#                     source tree)
#   BENCH_TMPDIR=DIR  where the files and the private sshd live (default
#                     $TMPDIR or /tmp)

# The whole script is one compound command, so that bash parses all of
# it before running any: editing this file during a run is harmless.
{
set -e -o pipefail

bench_srcdir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
top_srcdir="$(dirname "$bench_srcdir")"
top_builddir="${abs_top_builddir:-$PWD}"

SIZE_GIVEN="${SIZE:+yes}"
SIZE="${SIZE:-1024}"
RTTS="${RTTS:-0 10 50 100}"
SEQ_RTT_SIZE="${SEQ_RTT_SIZE:-128}"
RTT_SIZE="${RTT_SIZE:-}"
REPEAT="${REPEAT:-3}"
RAND_SECS="${RAND_SECS:-5}"
MULTI_CONN="${MULTI_CONN:-default}"
RUN_TIMEOUT="${RUN_TIMEOUT:-300}"
PEER_MAX_RTT="${PEER_MAX_RTT:-50}"
CONTENDERS="${CONTENDERS:-ours nbdkit-ssh ssh-cat sftp-get}"
CASES="${CASES:-seq-read seq-write rand rand-write connect write4 comp}"
COMP_RTT="${COMP_RTT:-10}"
RANDIO="${RANDIO:-auto}"
IDLE_KEEP="${IDLE_KEEP:-10}"
WRITE_CONNS="${WRITE_CONNS:-4}"
OUT_DIR="${OUT_DIR:-$bench_srcdir}"
BENCH_TMPDIR="${BENCH_TMPDIR:-${TMPDIR:-/tmp}}"

PATH="/usr/bin:/bin:/usr/sbin:/sbin${PATH:+:$PATH}"
export PATH LC_ALL=C

say () { printf '%s\n' "bench: $*" >&2; }
die () { say "error: $*"; exit 1; }

for v in SIZE SEQ_RTT_SIZE REPEAT RUN_TIMEOUT IDLE_KEEP WRITE_CONNS; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[ "$MULTI_CONN" = default ] || [[ "$MULTI_CONN" =~ ^[1-9][0-9]*$ ]] ||
    die "MULTI_CONN must be default or a positive integer"
multi=()
[ "$MULTI_CONN" = default ] || multi=(--connections="$MULTI_CONN" --threads="$MULTI_CONN")
[[ "$RAND_SECS" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "RAND_SECS must be a number"
[ -z "$RTT_SIZE" ] || [[ "$RTT_SIZE" =~ ^[1-9][0-9]*$ ]] ||
    die "RTT_SIZE must be a positive integer"
for r in $RTTS; do
    [[ "$r" =~ ^[0-9]+$ ]] || die "RTTS: $r is not a whole number of ms"
    [ $(( r % 2 )) -eq 0 ] || say "warning: RTT $r is odd; the proxy adds $(( r / 2 * 2 )) ms"
done

for c in nbdkit nbdcopy ssh sftp timeout getconf /usr/bin/python3; do
    command -v "$c" >/dev/null 2>&1 || die "required tool $c missing"
done

has () { [[ " $1 " == *" $2 "* ]]; }
# without LIST WORD: LIST less the word WORD (not words containing it).
without () { local w out=; for w in $1; do [ "$w" = "$2" ] || out+="${out:+ }$w"; done; echo "$out"; }

[[ "$COMP_RTT" =~ ^[0-9]+$ ]] || die "COMP_RTT must be a whole number of ms"
[[ "$PEER_MAX_RTT" =~ ^[0-9]+$ ]] || die "PEER_MAX_RTT must be a whole number of ms"
if has "$CASES" comp && ! has "$RTTS" "$COMP_RTT"; then
    say "RTT $COMP_RTT ms (COMP_RTT) is not in RTTS: skipping the compressed reads"
fi

# ----------------------------------------------------------------------
# What to run.

if [ -z "${PLUGIN:-}" ]; then
    for p in "$top_builddir/ssh-plugin.so" "$top_srcdir/ssh-plugin.so"; do
        if [ -f "$p" ]; then PLUGIN="$p"; break; fi
    done
fi
[ -n "${PLUGIN:-}" ] && [ -f "$PLUGIN" ] ||
    die "plugin not found (build it with make, or set PLUGIN=)"

plugindir="$(nbdkit --dump-config | sed -n 's/^plugindir=//p')"
if [ -z "${PEER_PLUGIN:-}" ]; then
    # Only the libssh plugin counts: "make install" of ours replaces it,
    # and our Debian package (debian/) diverts it to
    # nbdkit-libssh-ssh-plugin.so ("nbdkit libssh-ssh").
    # Not grep -q: it exits at the first match, and under pipefail an
    # ldd still writing then dies of SIGPIPE and fails the test.
    for p in "$plugindir/nbdkit-libssh-ssh-plugin.so" \
             "$plugindir/nbdkit-ssh-plugin.so"; do
        if [ -f "$p" ] && ldd "$p" 2>/dev/null | grep 'libssh\.so' >/dev/null; then
            PEER_PLUGIN="$p"
            break
        fi
    done
fi
# ssh cat is what the sequential tables compare everything with.
if { has "$CASES" seq-read || has "$CASES" seq-write; } &&
       ! has "$CONTENDERS" ssh-cat; then
    say "the sequential cases are compared with ssh cat: running ssh-cat too"
    CONTENDERS+="${CONTENDERS:+ }ssh-cat"
fi
if has "$CONTENDERS" nbdkit-ssh && [ -z "$PEER_PLUGIN" ]; then
    say "nbdkit's libssh ssh plugin is not installed (Debian: nbdkit); skipping nbdkit-ssh"
    CONTENDERS="$(without "$CONTENDERS" nbdkit-ssh)"
fi

case "$RANDIO" in
    auto)
        if command -v fio >/dev/null 2>&1 &&
               fio --enghelp=nbd >/dev/null 2>&1; then
            RANDIO=fio
        else
            RANDIO=python
        fi ;;
    fio|python) ;;
    *) die "RANDIO must be auto, fio or python" ;;
esac
if has "$CASES" rand && [ "$RANDIO" = python ] &&
       ! /usr/bin/python3 -c 'import nbd' 2>/dev/null; then
    say "neither fio (nbd engine) nor python3-libnbd found; skipping random reads"
    CASES="$(without "$CASES" rand)"
fi
if ! /usr/bin/python3 -c 'import nbd' 2>/dev/null; then
    for c in rand-write write4; do
        if has "$CASES" "$c"; then
            say "python3-libnbd not found; skipping $c"
            CASES="$(without "$CASES" "$c")"
        fi
    done
fi
if has "$CASES" connect && ! command -v nbdinfo >/dev/null 2>&1; then
    say "nbdinfo (libnbd-bin) not found; skipping connect"
    CASES="$(without "$CASES" connect)"
fi

WORK="$(mktemp -d "$BENCH_TMPDIR/sshbench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# Copies, so that a rebuild during the run changes nothing.
cp "$PLUGIN" "$WORK/ssh-plugin.so"
PLUGIN_ORIG="$PLUGIN"
PLUGIN="$WORK/ssh-plugin.so"

# idle-keep=SECS (keep a closed connection's SSH session for the next
# NBD connection): only where the plugin has it, so that the bench runs
# before and after it exists.
IDLE_KEEP_ARG=()
if nbdkit "$PLUGIN" --help 2>&1 | grep 'idle-keep' >/dev/null; then
    IDLE_KEEP_ARG=(idle-keep="$IDLE_KEEP")
fi

if [ -z "${DELAY_PROXY:-}" ]; then
    for p in "$top_builddir/bench/delay-proxy" "$bench_srcdir/delay-proxy"; do
        if [ -x "$p" ]; then DELAY_PROXY="$p"; break; fi
    done
fi
need_proxy=
for r in $RTTS; do [ "$r" -eq 0 ] || need_proxy=1; done
if [ -n "$need_proxy" ]; then
    if [ -z "${DELAY_PROXY:-}" ]; then
        say "compiling delay-proxy"
        ${CC:-cc} -O2 -Wall -Wextra -pthread -o "$WORK/delay-proxy" \
                  "$bench_srcdir/delay-proxy.c" || die "cannot build delay-proxy"
        DELAY_PROXY="$WORK/delay-proxy"
    else
        cp "$DELAY_PROXY" "$WORK/delay-proxy"
        DELAY_PROXY="$WORK/delay-proxy"
    fi
fi

# The test harness: private sshd + agent, cleanup hooks.  Sourced from a
# copy (the file may be edited while we run); it replaces our EXIT trap
# with its own, so register the work directory again.
export PLUGIN
cp "$top_srcdir/tests/functions.sh" "$top_srcdir/tests/sshdprocs.py" "$WORK/"
# shellcheck source=../tests/functions.sh
source "$WORK/functions.sh"
cleanup_fn rm -rf "$WORK"
export NBDKIT_TIMEOUT="$RUN_TIMEOUT"

# ----------------------------------------------------------------------
# Sizes and space.

size_for_rtt ()
{
    local rtt="$1" cap p
    if [ "$rtt" -eq 0 ]; then echo "$SIZE"; return; fi
    if [ -n "$RTT_SIZE" ]; then
        cap="$RTT_SIZE"
    else
        cap=$(( 3200 / rtt ))
        p=16
        while [ $(( p * 2 )) -le "$cap" ]; do p=$(( p * 2 )); done
        cap="$p"
    fi
    [ "$cap" -lt "$SIZE" ] && echo "$cap" || echo "$SIZE"
}

# The sequential cases (seq-read, seq-write, comp) at RTT > 0: the issue
# states its goals for 128 MiB, connecting included.
seq_size_for_rtt ()
{
    if [ "$1" -eq 0 ] || [ "$SEQ_RTT_SIZE" -ge "$SIZE" ]; then
        echo "$SIZE"
    else
        echo "$SEQ_RTT_SIZE"
    fi
}

has_seq () { has "$CASES" seq-read || has "$CASES" seq-write || has "$CASES" comp; }
has_other () { has "$CASES" rand || has "$CASES" rand-write || has "$CASES" connect || has "$CASES" write4; }

# The file sizes in use, one a line, each once.
sizes_in_use ()
{
    local r
    for r in $RTTS; do
        if has_seq; then seq_size_for_rtt "$r"; fi
        if has_other; then size_for_rtt "$r"; fi
    done | sort -n -u
}

space_needed ()
{
    # A source and a destination file of every size in use, plus 10%.
    local s total=0
    for s in $(sizes_in_use); do total=$(( total + 2 * s )); done
    echo $(( total + total / 10 + 64 ))
}

avail="$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')"
while [ "$(space_needed)" -gt "$avail" ]; do
    if [ -n "$SIZE_GIVEN" ] || [ "$SIZE" -le 64 ]; then
        die "$(space_needed) MiB needed in $BENCH_TMPDIR, $avail MiB free"
    fi
    SIZE=$(( SIZE / 2 ))
    say "short of space in $BENCH_TMPDIR ($avail MiB free): SIZE=$SIZE"
done

# ----------------------------------------------------------------------
# Setup.

start_sshd >/dev/null 2>"$WORK/start_sshd.log" ||
    { cat "$WORK/start_sshd.log" >&2; die "could not start sshd"; }
SSHD_PID="$(cat "$SSHD_DIR/sshd.pid")"
KH="$WORK/known_hosts"
cp "$KNOWN_HOSTS" "$KH"
host_key="$(cut -d' ' -f1,2 "$HOST_KEY_PUB")"

SSH_OPTS=(-F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes
          -o UserKnownHostsFile="$KH" -o GlobalKnownHostsFile=/dev/null
          -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256)

for s in $(sizes_in_use); do
    say "creating $s MiB test files"
    make_random_file "$WORK/src-$s.img" "$s"
    cp "$WORK/src-$s.img" "$WORK/dst-$s.img"
    truncate -s "${s}M" "$WORK/zeros-$s.img"     # sparse: reads as zeros
    sync "$WORK/dst-$s.img"
    cat "$WORK/src-$s.img" "$WORK/dst-$s.img" > /dev/null
done

stop_pid ()
{
    local pid="$1"
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || :
    if ! wait_pid_gone "$pid" 10; then
        kill -KILL "$pid" 2>/dev/null || :
        wait_pid_gone "$pid" 3 || :
    fi
}

PROXY_PID=
start_proxy ()
{
    local rtt="$1" i port=
    : > "$WORK/proxy.out"
    "$DELAY_PROXY" 0 127.0.0.1 "$SSHD_PORT" $(( rtt / 2 )) \
                   > "$WORK/proxy.out" 2>>"$WORK/proxy.err" 19>&- &
    PROXY_PID=$!
    cleanup_fn stop_pid "$PROXY_PID"
    for (( i = 0; i < 100; ++i )); do
        port="$(sed -n 's/^port \([0-9]*\)$/\1/p' "$WORK/proxy.out")"
        [ -n "$port" ] && break
        _pid_alive "$PROXY_PID" || break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$WORK/proxy.err" >&2; die "delay-proxy did not start"; }
    PORT="$port"
    printf '[127.0.0.1]:%s %s\n' "$PORT" "$host_key" >> "$KH"
}

sessions () { grep -c 'Accepted publickey' "$SSHD_LOG" || :; }

# ----------------------------------------------------------------------
# Running one measurement.  Each sets R_OK R_SECS R_CPU R_RSS R_SESS R_OUT.

# The clients' NBD URI: inside the nbdkit --run command (captive.sh),
# @URI@ in any argument becomes nbdkit's $uri (nbdkit >= 1.24 has $uri
# and $nbd, the same URI; with -U - it names nbdkit's private socket).
URI="@URI@"
PLUGIN_EXTRA=()
RAW="$WORK/raw.tsv"
printf 'rtt\tcase\tcontender\trep\tvalue\tunit\tmib\tsecs\tcpu_s\tcpu_ms_mib\trss_kib\tsessions\tamp\tp50_us\n' > "$RAW"
CLK_TCK="$(getconf CLK_TCK)"

# The --run command of every nbdkit run: $1 = nbdkit's $uri.  It runs
# the client (its arguments in client.argv, NUL-separated), then, nbdkit
# still serving, writes the serving nbdkit's CPU time (utime + stime, in
# clock ticks: fields 14 and 15 of /proc/PID/stat, all threads) and peak
# RSS (VmHWM, KiB) to nbdkit.stats.  That process is the one in nbdkit's
# -P file: with --run, nbdkit forks, and the process that runs the
# command ($PPID here) only waits for it and for the serving child.
export BENCH_WORK="$WORK"
cat > "$WORK/captive.sh" <<'EOF'
w="$BENCH_WORK"
mapfile -d '' -t argv < "$w/client.argv"
argv=("${argv[@]//@URI@/"$1"}")
r=0
"${argv[@]}" || r=$?
npid="$(cat "$w/nbdkit.pid" 2>/dev/null)" || npid=
if [ -n "$npid" ] && stat="$(cat "/proc/$npid/stat" 2>/dev/null)"; then
    read -r -a f <<< "${stat##*) }"          # f[0] = field 3
    hwm="$(awk '/^VmHWM:/ { print $2 }' "/proc/$npid/status")"
    echo "$(( f[11] + f[12] )) $hwm" > "$w/nbdkit.stats"
fi
exit "$r"
EOF

now () { date +%s.%N; }
elapsed () { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# run_client CMD...: run under the timeout, time it; R_CCPU = the CPU
# time (user + system, s) of CMD and all it waited for (bash's "times"
# in a subshell: its children's rusage).
run_client ()
{
    local t0 t1 r=0
    rm -f "$WORK/times.out"
    t0="$(now)"
    (
        r=0
        timeout -k 5 "$RUN_TIMEOUT" "$@" > "$WORK/client.out" 2> "$WORK/client.err" 19>&- || r=$?
        times > "$WORK/times.out"
        exit "$r"
    ) || r=$?
    t1="$(now)"
    R_SECS="$(elapsed "$t0" "$t1")"
    R_OUT="$(cat "$WORK/client.out")"
    # "0m0.012s 0m0.004s" (the shell), then the same for its children.
    R_CCPU="$(awk 'NR == 2 { t = 0
                   for (i = 1; i <= 2; ++i) {
                       split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
                   printf "%.3f", t }' "$WORK/times.out" 2>/dev/null)" || R_CCPU=
    if [ "$r" -ne 0 ]; then
        R_OK=
        if [ "$r" -eq 124 ] || [ "$r" -eq 137 ]; then
            say "  timed out after ${RUN_TIMEOUT}s: $*"
        else
            say "  failed (status $r): $*"
        fi
        tail -n 5 "$WORK/client.err" >&2 || :
    fi
}

# run_plugin CONTENDER ro|rw FILE CLIENT_CMD...: what a user runs,
#   nbdkit -U - [-r] PLUGIN host=... path=FILE --run 'CLIENT_CMD'
# with @URI@ in CLIENT_CMD standing for nbdkit's "$uri".  R_SECS is the
# whole command, from nbdkit's start to its exit (after the client has
# exited nbdkit stops the serving process and waits for it); R_CPU and
# R_RSS are the serving nbdkit's, read when the client is done.
run_plugin ()
{
    local who="$1" mode="$2" file="$3" plugin s0 ticks rss
    shift 3
    case "$who" in
        ours) plugin="$PLUGIN" ;;
        nbdkit-ssh) plugin="$PEER_PLUGIN" ;;
    esac
    local -a ro=()
    [ "$mode" = ro ] && ro=(-r)
    R_OK=1 R_SECS='' R_CPU='' R_RSS='' R_SESS='' R_OUT=''
    rm -f "$WORK/nbdkit.pid" "$WORK/nbdkit.stats"
    printf '%s\0' "$@" > "$WORK/client.argv"
    echo "=== $who $mode $file: $*" >> "$WORK/nbdkit.log"
    s0="$(sessions)"
    # PLUGIN_EXTRA: more plugin parameters (compression=...).
    # shellcheck disable=SC2016 # $uri is for nbdkit's --run shell
    run_client nbdkit -U - -P "$WORK/nbdkit.pid" "${ro[@]}" \
               "$plugin" host=127.0.0.1 port="$PORT" known-hosts="$KH" \
               path="$file" "${PLUGIN_EXTRA[@]}" \
               --run 'exec /bin/bash "$BENCH_WORK/captive.sh" "$uri"'
    cat "$WORK/client.err" >> "$WORK/nbdkit.log"
    R_SESS=$(( $(sessions) - s0 ))
    if read -r ticks rss < "$WORK/nbdkit.stats" 2>/dev/null; then
        R_CPU="$(awk -v t="$ticks" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", t / hz }')"
        R_RSS="$rss"
    elif [ -n "$R_OK" ]; then
        say "  no nbdkit figures (CPU, RSS) for this run"
    fi
}

# run_ssh CMD...: an OpenSSH client command (ssh cat, sftp); R_CPU is
# the client's (for sftp, with the ssh it runs).
run_ssh ()
{
    local s0
    R_OK=1 R_SECS='' R_CPU='' R_RSS='' R_SESS='' R_OUT=''
    s0="$(sessions)"
    run_client "$@"
    R_CPU="$R_CCPU"
    R_SESS=$(( $(sessions) - s0 ))
}

record ()   # rtt case contender rep unit mib [amp p50]
{
    local rtt="$1" case="$2" who="$3" rep="$4" unit="$5" mib="$6"
    local amp="${7:-}" p50="${8:-}" value=NA cpu_mib=''
    if [ -n "$R_OK" ]; then
        if [ "$unit" = MiB/s ]; then
            value="$(awk -v m="$mib" -v s="$R_SECS" 'BEGIN { printf "%.1f", m / s }')"
        else
            value="$R_VALUE"
        fi
        if [ -n "$mib" ] && [ -n "${R_CPU:-}" ]; then
            cpu_mib="$(awk -v m="$mib" -v c="$R_CPU" 'BEGIN { printf "%.2f", c * 1000 / m }')"
        fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
           "$rtt" "$case" "$who" "$rep" "$value" "$unit" "$mib" "${R_SECS:-}" \
           "${R_CPU:-}" "$cpu_mib" "${R_RSS:-}" "${R_SESS:-}" "$amp" "$p50" >> "$RAW"
    say "  rtt $rtt rep $rep $case $who: $value $unit${R_SECS:+ (${R_SECS}s}${R_CPU:+, cpu ${R_CPU}s}${cpu_mib:+ = $cpu_mib ms/MiB}${R_RSS:+, rss ${R_RSS} KiB}${R_SESS:+, $R_SESS ssh sessions}${amp:+, amp $amp}${p50:+, p50 ${p50}us}${R_SECS:+)}"
}

kv () { printf '%s\n' "$R_OUT" | tr ' ' '\n' | sed -n "s/^$1=//p" | tail -n 1; }

# do_rand RTT CASE WHO REP FILE CONNS DEPTH: random 4 KiB reads, CONNS
# connections x DEPTH in flight; records IOPS, amplification, p50.
do_rand ()
{
    local rtt="$1" case="$2" who="$3" rep="$4" file="$5" conns="$6" depth="$7"
    local -a cmd
    local spid='' reads
    if [ "$RANDIO" = python ]; then
        cmd=(/usr/bin/python3 "$bench_srcdir/randread.py" "$URI"
             "$conns" "$depth" "$RAND_SECS" "$SSHD_PID")
    else
        cmd=(fio --name=randread --ioengine=nbd --uri="$URI" --rw=randread
             --bs=4k --iodepth="$depth" --numjobs="$conns" --group_reporting
             --norandommap
             --time_based --output-format=json
             --runtime="$(awk -v s="$RAND_SECS" 'BEGIN { printf "%dms", s * 1000 }')")
    fi
    R_VALUE=NA R_AMP='' R_P50=''
    if [ "$RANDIO" = fio ]; then
        /usr/bin/python3 "$bench_srcdir/randread.py" --sample "$SSHD_PID" \
                         > "$WORK/sample.out" 2>/dev/null 19>&- &
        spid=$!
    fi
    run_plugin "$who" ro "$file" "${cmd[@]}"
    if [ -n "$spid" ]; then
        kill -TERM "$spid" 2>/dev/null || :
        wait "$spid" 2>/dev/null || :
    fi
    if [ -n "$R_OK" ]; then
        if [ "$RANDIO" = python ]; then
            R_VALUE="$(kv iops)"; R_AMP="$(kv amp)"; R_P50="$(kv p50_us)"
        else
            eval "$(/usr/bin/python3 -c '
import json, sys
out = open(sys.argv[1]).read()   # fio may print a line before the JSON
j = json.loads(out[out.index("{"):])["jobs"][0]["read"]
pct = j.get("clat_ns", {}).get("percentile", {})
p50 = pct.get("50.000000", 0) / 1000
print("R_VALUE=%.1f R_P50=%.0f R_READS=%d" % (j["iops"], p50, j["total_ios"]))
' "$WORK/client.out")" || R_OK=
            reads="${R_READS:-0}"
            local rchar
            rchar="$(sed -n 's/^server_rchar=//p' "$WORK/sample.out")"
            if [ -n "$rchar" ] && [ "$reads" -gt 0 ]; then
                R_AMP="$(awk -v b="$rchar" -v n="$reads" 'BEGIN { printf "%.3f", b / (n * 4096) }')"
            fi
        fi
        [ -n "$R_VALUE" ] || { R_VALUE=NA; R_OK=; }
    fi
    record "$rtt" "$case" "$who" "$rep" IOPS "" "$R_AMP" "$R_P50"
}

# do_randwrite RTT CASE WHO REP FILE: random 4 KiB writes, one connection,
# one synchronous pwrite at a time (bench/randread.py --write; fio's
# end_fsync would land in the timing), then a flush outside the timing.
do_randwrite ()
{
    local rtt="$1" case="$2" who="$3" rep="$4" file="$5"
    R_VALUE=NA R_AMP='' R_P50=''
    sync "$file"
    run_plugin "$who" rw "$file" /usr/bin/python3 "$bench_srcdir/randread.py" \
               --write "$URI" 1 1 "$RAND_SECS" "$SSHD_PID"
    if [ -n "$R_OK" ]; then
        R_VALUE="$(kv iops)"; R_AMP="$(kv amp)"; R_P50="$(kv p50_us)"
        [ -n "$R_VALUE" ] || { R_VALUE=NA; R_OK=; }
        echo "=== $who rand-write: $R_OUT" >> "$WORK/nbdkit.log"
    fi
    record "$rtt" "$case" "$who" "$rep" IOPS "" "$R_AMP" "$R_P50"
}

# do_connect RTT WHO REP FILE: a fresh nbdkit, "nbdinfo --size" twice in
# a row (bench/connect.py); records connect-first and connect-second in
# seconds (the RSS and sessions are those of the whole run, on both).
do_connect ()
{
    local rtt="$1" who="$2" rep="$3" file="$4" first second
    if [ "$who" = ours ]; then PLUGIN_EXTRA=("${IDLE_KEEP_ARG[@]}"); fi
    run_plugin "$who" ro "$file" /usr/bin/python3 "$bench_srcdir/connect.py" "$URI"
    PLUGIN_EXTRA=()
    first="$(kv first_secs)" second="$(kv second_secs)"
    local ok="$R_OK"
    R_VALUE="$first"
    [ -n "$first" ] || R_OK=
    record "$rtt" connect-first "$who" "$rep" s ""
    R_OK="$ok" R_VALUE="$second"
    [ -n "$second" ] || R_OK=
    record "$rtt" connect-second "$who" "$rep" s ""
}

# do_write4 RTT WHO REP FILE MIB: WRITE_CONNS connections, each writing
# its part of the file sequentially (256 KiB requests, 4 in flight),
# then a flush on each (bench/write4.py).  MiB/s over the writes and
# flushes (the script's own timing: connecting is the connect case).
do_write4 ()
{
    local rtt="$1" who="$2" rep="$3" file="$4" mib="$5" secs
    sync "$file"
    run_plugin "$who" rw "$file" /usr/bin/python3 "$bench_srcdir/write4.py" \
               "$URI" "$WRITE_CONNS" 256 4
    if [ -n "$R_OK" ]; then
        secs="$(kv secs)"
        if [ -n "$secs" ]; then R_SECS="$secs"; else R_OK=; fi
        echo "=== $who write4: $R_OUT" >> "$WORK/nbdkit.log"
    fi
    record "$rtt" write4 "$who" "$rep" MiB/s "$mib"
}

# ----------------------------------------------------------------------
# Metadata.

ver () { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "?"; }
META="$WORK/meta.txt"
{
    echo "date: $(date '+%Y-%m-%d %H:%M %Z')"
    echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r)"
    echo "OpenSSH: $(ssh -V 2>&1)"
    echo "libssh2: $(ver libssh2-1) (ours, $(basename "$PLUGIN_ORIG")$(git -C "$top_srcdir" describe --always --dirty 2>/dev/null | sed 's/^/ at /'))"
    [ -z "$PEER_PLUGIN" ] || echo "libssh: $(ver libssh-4) (nbdkit-ssh, $PEER_PLUGIN)"
    echo "nbdkit: $(nbdkit --version | head -n 1); libnbd: $(nbdcopy --version | sed -n 's/^libnbd //p')"
    echo "random reads: $([ "$RANDIO" = fio ] && echo "fio $(fio --version) nbd engine" || echo "bench/randread.py (python3-libnbd)"), ${RAND_SECS}s per run"
    if has "$CASES" rand-write; then
        echo "random writes: bench/randread.py --write (python3-libnbd), ${RAND_SECS}s per run, then a flush (not timed)"
    fi
    if has "$CASES" connect; then
        if [ ${#IDLE_KEEP_ARG[@]} -gt 0 ]; then
            echo "connect: ours with ${IDLE_KEEP_ARG[*]}"
        else
            echo "connect: ours without idle-keep= (not in this plugin's --help)"
        fi
    fi
    if has "$CASES" write4; then
        echo "write4: $WRITE_CONNS connections, each writing its part sequentially, 256 KiB x 4 in flight, then a flush each"
    fi
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
    echo "settings: SIZE=$SIZE SEQ_RTT_SIZE=$SEQ_RTT_SIZE RTTS=\"$RTTS\" REPEAT=$REPEAT MULTI_CONN=$MULTI_CONN RAND_SECS=$RAND_SECS PEER_MAX_RTT=$PEER_MAX_RTT RUN_TIMEOUT=$RUN_TIMEOUT"
    for r in $RTTS; do
        line="file size at RTT $r ms:"
        has_seq && line+=" $(seq_size_for_rtt "$r") MiB (sequential cases)"
        has_seq && has_other && line+=","
        has_other && line+=" $(size_for_rtt "$r") MiB (other cases)"
        echo "$line"
    done
    if has_seq; then
        echo "sequential cases timed from nbdkit's start to its exit: nbdkit -U - [-r] PLUGIN ... --run 'nbdcopy ... \"\$uri\" null:' (reads), --run 'nbdcopy --flush FILE \"\$uri\"' (writes); ssh cat: the ssh process, uploads with 'cat > FILE && sync FILE'"
    fi
    echo "CPU: the plugins' = the serving nbdkit process's user + system time (at the end of the --run command); ssh cat's and sftp get's = the client's (ssh; sftp with its ssh)"
    if has "$CONTENDERS" nbdkit-ssh && has_seq; then
        for r in $RTTS; do
            if [ "$r" -gt "$PEER_MAX_RTT" ]; then
                echo "nbdkit-ssh not run in the sequential cases at RTT > $PEER_MAX_RTT ms (PEER_MAX_RTT)"
                break
            fi
        done
    fi
    echo "ssh cat and sftp get: -o Ciphers=aes128-ctr -o MACs=hmac-sha2-256"
    if has "$CASES" comp && has "$RTTS" "$COMP_RTT"; then
        echo "compressed reads: RTT $COMP_RTT ms, $(seq_size_for_rtt "$COMP_RTT") MiB of zeros and of random data"
    fi
} > "$META"
cat "$META" >&2

# ----------------------------------------------------------------------
# The runs.

plugins=()
for w in ours nbdkit-ssh; do has "$CONTENDERS" "$w" && plugins+=("$w"); done

bench_start="$(now)"
for rtt in $RTTS; do
    if [ "$rtt" -eq 0 ]; then
        PORT="$SSHD_PORT"
    else
        start_proxy "$rtt"
        say "RTT $rtt ms: delay-proxy pid $PROXY_PID on port $PORT"
    fi
    # The other cases (rand, rand-write, connect, write4) use mib, src
    # and dst; the sequential ones (seq-read, seq-write, comp) smib,
    # ssrc and sdst.
    mib="$(size_for_rtt "$rtt")"
    src="$WORK/src-$mib.img"
    dst="$WORK/dst-$mib.img"
    smib="$(seq_size_for_rtt "$rtt")"
    ssrc="$WORK/src-$smib.img"
    sdst="$WORK/dst-$smib.img"
    # nbdcopy hands work to its connections in 128 MiB slices: below
    # 256 MiB one connection does everything, so multi-conn means nothing.
    do_multi=
    if [ "$smib" -ge 256 ]; then
        do_multi=1
    elif has "$CASES" seq-read || has "$CASES" seq-write; then
        say "RTT $rtt ms: $smib MiB file < 256 MiB, skipping the multi-conn nbdcopy runs"
    fi
    # nbdkit's libssh plugin is very slow at high RTT (about 1 MiB/s at
    # 100 ms): not in the sequential cases above PEER_MAX_RTT.
    seq_plugins=("${plugins[@]}")
    if [ "$rtt" -gt "$PEER_MAX_RTT" ] && has "$CONTENDERS" nbdkit-ssh && has_seq; then
        say "RTT $rtt ms > PEER_MAX_RTT=$PEER_MAX_RTT ms: nbdkit-ssh left out of the sequential cases"
        seq_plugins=()
        for w in "${plugins[@]}"; do [ "$w" = nbdkit-ssh ] || seq_plugins+=("$w"); done
    fi
    # The remote command of the ssh cat upload: as durable as nbdcopy
    # --flush (the plugins' flush is an fsync of the file on the server).
    put_cmd="cat > $(printf %q "$sdst") && sync $(printf %q "$sdst")"

    for (( rep = 1; rep <= REPEAT; ++rep )); do
        # Alternate who goes first, so that order effects cancel out.
        order=("${plugins[@]}")
        if [ $(( rep % 2 )) -eq 0 ] && [ ${#plugins[@]} -eq 2 ]; then
            order=("${plugins[1]}" "${plugins[0]}")
        fi
        seq_order=("${seq_plugins[@]}")
        if [ $(( rep % 2 )) -eq 0 ] && [ ${#seq_plugins[@]} -eq 2 ]; then
            seq_order=("${seq_plugins[1]}" "${seq_plugins[0]}")
        fi

        # Sequential cases: the whole nbdkit --run command is timed
        # (run_plugin), writes end with nbdcopy --flush.
        if has "$CASES" seq-read; then
            for w in "${seq_order[@]}"; do
                run_plugin "$w" ro "$ssrc" nbdcopy --connections=1 "$URI" null:
                record "$rtt" seq-read-1 "$w" "$rep" MiB/s "$smib"
            done
            for w in "${seq_order[@]}"; do
                [ -n "$do_multi" ] || break
                run_plugin "$w" ro "$ssrc" nbdcopy "${multi[@]}" "$URI" null:
                record "$rtt" seq-read-N "$w" "$rep" MiB/s "$smib"
            done
            if has "$CONTENDERS" ssh-cat; then
                run_ssh sh -c 'exec ssh "$@" > /dev/null' sh "${SSH_OPTS[@]}" \
                        -p "$PORT" root@127.0.0.1 cat "$ssrc"
                record "$rtt" seq-read-stream ssh-cat "$rep" MiB/s "$smib"
            fi
            if has "$CONTENDERS" sftp-get; then
                run_ssh sftp -q "${SSH_OPTS[@]}" -P "$PORT" \
                        "root@127.0.0.1:$ssrc" /dev/null
                record "$rtt" seq-read-stream sftp-get "$rep" MiB/s "$smib"
            fi
        fi

        if has "$CASES" seq-write; then
            for w in "${seq_order[@]}"; do
                sync "$sdst"
                run_plugin "$w" rw "$sdst" nbdcopy --flush --connections=1 "$ssrc" "$URI"
                record "$rtt" seq-write-1 "$w" "$rep" MiB/s "$smib"
            done
            for w in "${seq_order[@]}"; do
                [ -n "$do_multi" ] || break
                sync "$sdst"
                run_plugin "$w" rw "$sdst" nbdcopy --flush "${multi[@]}" "$ssrc" "$URI"
                record "$rtt" seq-write-N "$w" "$rep" MiB/s "$smib"
            done
            if has "$CONTENDERS" ssh-cat; then
                sync "$sdst"
                run_ssh sh -c 'exec ssh "$@" < "$0"' "$ssrc" "${SSH_OPTS[@]}" \
                        -p "$PORT" root@127.0.0.1 "$put_cmd"
                record "$rtt" seq-write-stream ssh-cat "$rep" MiB/s "$smib"
            fi
        fi

        if has "$CASES" rand; then
            for w in "${order[@]}"; do
                do_rand "$rtt" rand-qd1 "$w" "$rep" "$src" 1 1
            done
            for w in "${order[@]}"; do
                do_rand "$rtt" rand-4x4 "$w" "$rep" "$src" 4 4
            done
        fi

        if has "$CASES" rand-write; then
            for w in "${order[@]}"; do
                do_randwrite "$rtt" rand-write-qd1 "$w" "$rep" "$dst"
            done
        fi

        if has "$CASES" connect; then
            for w in "${order[@]}"; do
                do_connect "$rtt" "$w" "$rep" "$src"
            done
        fi

        if has "$CASES" write4; then
            for w in "${order[@]}"; do
                do_write4 "$rtt" "$w" "$rep" "$dst" "$mib"
            done
        fi

        # Both plugins take compression=: zeros (the best case for
        # zlib) and random data (the worst), one connection.
        if has "$CASES" comp && [ "$rtt" -eq "$COMP_RTT" ]; then
            for data in zeros rand; do
                f="$ssrc"
                [ "$data" = rand ] || f="$WORK/zeros-$smib.img"
                for c in false true; do
                    for w in "${seq_order[@]}"; do
                        PLUGIN_EXTRA=(compression="$c")
                        run_plugin "$w" ro "$f" nbdcopy --connections=1 "$URI" null:
                        PLUGIN_EXTRA=()
                        record "$rtt" "comp-$data-$c" "$w" "$rep" MiB/s "$smib"
                    done
                done
            done
        fi
    done

    if [ -n "$PROXY_PID" ]; then
        stop_pid "$PROXY_PID"
        PROXY_PID=
    fi
done
bench_end="$(now)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$META"
echo "duration: $(awk -v a="$bench_start" -v b="$bench_end" 'BEGIN { printf "%.0f", (b - a) / 60 }') min" >> "$META"

# ----------------------------------------------------------------------
# Report.

stamp="$(date +%Y%m%d-%H%M)"
if ! mkdir -p "$OUT_DIR" 2>/dev/null || [ ! -w "$OUT_DIR" ]; then
    say "$OUT_DIR is not writable; writing results to $PWD"
    OUT_DIR="$PWD"
fi
out="$OUT_DIR/results-$stamp"
/usr/bin/python3 "$bench_srcdir/report.py" "$META" "$RAW" "$out.txt" "$out.md" "$MULTI_CONN"
sed "/^Per-run results:/,\$d" "$out.txt"
say "results: $out.txt $out.md"
exit
}
