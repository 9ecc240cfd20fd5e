#!/usr/bin/env bash
# Where nbdkit's CPU goes during a sequential read and a sequential write
# over loopback: perf record -g on the nbdkit process while nbdcopy
# --connections=1 reads SIZE MiB into null: and writes them back into a
# remote file of the same size.  For each run it prints the share of
# nbdkit's samples in page faults (asm_exc_page_fault, children), in
# madvise (__x64_sys_madvise, children: glibc trimming a heap, with its
# TLB shootdowns), in TLB shootdown IPIs received (sysvec_call_function,
# children), in memmove/memcpy (self), the minor faults of the process
# (/proc/PID/stat field 10, after minus before), MiB/s, and nbdkit's CPU
# time (user + system, fields 14 and 15) per MiB moved: the figure that
# does not depend on how busy the rest of the machine is.
#
#   bench/profile.sh                        # ours and nbdkit's libssh plugin
#   SIZE=256 REPEAT=3 bench/profile.sh
#   CONTENDERS=ours CASES=read bench/profile.sh
#
# Environment: SIZE (MiB, 512), REPEAT (1), CONTENDERS ("ours nbdkit-ssh"),
# CASES ("read write"), PLUGIN (./ssh-plugin.so), PEER_PLUGIN (the
# installed nbdkit-libssh-ssh-plugin.so, else nbdkit-ssh-plugin.so),
# KEEP_PERF=DIR (keep perf.data files
# there).  Needs root or perf_event_paranoid <= 1 for kernel call chains.
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause

set -e
source "$(dirname "$0")/../tests/functions.sh"

SIZE="${SIZE:-512}"
REPEAT="${REPEAT:-1}"
CONTENDERS="${CONTENDERS:-ours nbdkit-ssh}"
CASES="${CASES:-read write}"
PLUGIN="$(realpath "${PLUGIN:-./ssh-plugin.so}")"
plugindir="$(nbdkit --dump-config | sed -n 's/^plugindir=//p')"
# nbdkit's libssh plugin: where the Debian package (debian/) diverts it
# (nbdkit libssh-ssh) while installed, else nbdkit-ssh-plugin.so.
if [ -z "${PEER_PLUGIN:-}" ]; then
    PEER_PLUGIN="$plugindir/nbdkit-ssh-plugin.so"
    [ ! -f "$plugindir/nbdkit-libssh-ssh-plugin.so" ] ||
        PEER_PLUGIN="$plugindir/nbdkit-libssh-ssh-plugin.so"
fi

requires perf nbdkit nbdcopy
start_sshd
W="$SSHD_DIR"
make_random_file "$W/disk.img" "$SIZE"
cp "$W/disk.img" "$W/local.img"

# share FILE SYMBOL: Children% of SYMBOL in perf report FILE (0 if absent).
share ()
{
    awk -v s="$2" '$NF == s { gsub("%", "", $1); t += $1 } END { printf "%.1f", t }' "$1"
}

# self_share FILE REGEX: sum of Self% of the symbols matching REGEX.
self_share ()
{
    awk -v r="$2" '$NF ~ r { gsub("%", "", $2); t += $2 } END { printf "%.1f", t }' "$1"
}

stop ()
{
    kill "$1" 2>/dev/null || :
}

minflt ()
{
    awk '{ print $10 }' "/proc/$1/stat"
}

cputicks ()
{
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

hz="$(getconf CLK_TCK)"
printf '%-11s %-5s %3s %8s %9s %8s %8s %8s %8s %10s\n' \
       who case rep 'MiB/s' 'cpu-ms/MiB' 'fault%' 'madv%' 'ipi%' 'memcpy%' 'minflt'
for rep in $(seq 1 "$REPEAT"); do
  for who in $CONTENDERS; do
    case "$who" in
        ours) plugin="$PLUGIN" ;;
        nbdkit-ssh) plugin="$PEER_PLUGIN" ;;
        *) echo "unknown contender $who" >&2; exit 1 ;;
    esac
    for what in $CASES; do
        rm -f "$W/nbd.sock" "$W/nbdkit.pid"
        nbdkit -U "$W/nbd.sock" -P "$W/nbdkit.pid" "$plugin" \
               "${SSH_ARGS[@]}" path="$W/disk.img" 2>>"$W/nbdkit.log"
        for (( i = 0; i < 100; ++i )); do
            [ -s "$W/nbdkit.pid" ] && [ -S "$W/nbd.sock" ] && break
            sleep 0.05
        done
        pid="$(cat "$W/nbdkit.pid")"
        cleanup_fn stop "$pid"
        uri="nbd+unix:///?socket=$W/nbd.sock"
        perf record -q -g -p "$pid" -o "$W/perf.data" 2>/dev/null &
        ppid=$!
        sleep 0.5
        f0="$(minflt "$pid")"
        c0="$(cputicks "$pid")"
        t0="$(date +%s.%N)"
        if [ "$what" = read ]; then
            nbdcopy --connections=1 "$uri" null:
        else
            nbdcopy --connections=1 "$W/local.img" "$uri"
        fi
        t1="$(date +%s.%N)"
        f1="$(minflt "$pid")"
        c1="$(cputicks "$pid")"
        kill -INT "$ppid"
        wait "$ppid" || :
        kill "$pid"
        wait_pid_gone "$pid" 10 || :
        perf report -i "$W/perf.data" --children --sort sym --stdio \
             -g none --percent-limit 0 2>/dev/null | grep '%' > "$W/report"
        [ -z "${KEEP_PERF:-}" ] ||
            cp "$W/perf.data" "$KEEP_PERF/perf-$who-$what-$rep.data"
        printf '%-11s %-5s %3s %8.0f %9.2f %8s %8s %8s %8s %10s\n' \
               "$who" "$what" "$rep" \
               "$(echo "$SIZE / ($t1 - $t0)" | bc -l)" \
               "$(echo "($c1 - $c0) * 1000 / $hz / $SIZE" | bc -l)" \
               "$(share "$W/report" asm_exc_page_fault)" \
               "$(share "$W/report" __x64_sys_madvise)" \
               "$(share "$W/report" sysvec_call_function)" \
               "$(self_share "$W/report" 'mem(move|cpy)')" \
               $(( f1 - f0 ))
    done
  done
done
