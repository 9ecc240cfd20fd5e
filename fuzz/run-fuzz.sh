#!/usr/bin/env bash
# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
#
# Build the libFuzzer targets of fuzz/ with clang and run each of them
# for SECONDS (default 60) on a copy of its seed corpus.  The plugin's
# pure modules (Makefile.am's libsshpure_la_SOURCES) are compiled once,
# instrumented, into a static archive that every target links.
#
#   fuzz/run-fuzz.sh [SECONDS]
#
# Prints one line per target and, last, "N passed, N failed".  Exits
# non-zero if a target does not build, crashes, hits a sanitizer report
# (ASan, UBSan, LeakSanitizer), a broken invariant, a timeout (-timeout=10)
# or the memory limit (-rss_limit_mb=2048).  The input that did it is
# kept in the build directory's artifacts/ and the log in logs/.
#
# Environment:
#   CLANG            the compiler (default: clang); it needs libFuzzer
#                    (Debian: clang and libclang-rt-dev)
#   FUZZ_TARGETS     the targets to run (default: all), e.g. "uri knownhosts"
#   FUZZ_BUILD_DIR   where binaries, logs and crash inputs go
#                    (default: fuzz/build in the source tree)
#   FUZZ_CONFIG_H    configure's config.h (default: the one at the top of
#                    the source tree, else a minimal one is written)
#   FUZZ_CFLAGS      extra compiler flags
#   FUZZ_PURE_SOURCES  the pure modules' sources, relative to the source
#                    tree (make fuzz passes libsshpure_la_SOURCES; headers
#                    are skipped); default: that list read from Makefile.am
#   AR               the archiver (default: ar)
#   FUZZ_KEEP=1      keep the working corpora (new inputs found) and say where
#
# The seed corpora in fuzz/corpus/TARGET are copied first and never
# written to.  To add an input to them, copy it there by hand.

set -u
export LC_ALL=C

usage ()
{
    echo "usage: $0 [SECONDS]" >&2
    exit 2
}

[ $# -le 1 ] || usage
seconds="${1:-60}"
case "$seconds" in
    ''|*[!0-9]*|0) usage ;;
esac

here="$(cd "$(dirname "$0")" && pwd)" || exit 1
top="$(dirname "$here")"
clang="${CLANG:-clang}"
build="${FUZZ_BUILD_DIR:-$here/build}"
read -r -a targets <<< "${FUZZ_TARGETS:-fingerprint uri knownhosts sshconfig sftp-wire}"
read -r -a extra_cflags <<< "${FUZZ_CFLAGS:-}"

passed=0 failed=0

# The pure modules' .c files: FUZZ_PURE_SOURCES, or else the list
# libsshpure_la_SOURCES in Makefile.am (one line, or continued lines
# ending with a backslash), so that the list lives in one place.
pure_list="${FUZZ_PURE_SOURCES:-}"
if [ -z "$pure_list" ] && [ -f "$top/Makefile.am" ]; then
    pure_list=$(awk '/^libsshpure_la_SOURCES[ \t]*=/ { p = 1 }
                     p { print }
                     p && !/\\$/ { exit }' "$top/Makefile.am")
fi
pure_sources=()
set -f
for f in $pure_list; do
    case "$f" in
        *.c) pure_sources+=("$f") ;;
    esac
done
set +f

# Extra link flags and libFuzzer options of a target.
ldflags ()
{
    case "$1" in
        sshconfig) echo -Wl,--wrap=glob ;;   # Include stays in its sandbox
    esac
}
options ()
{
    case "$1" in
        sshconfig) echo -max_len=8192 ;;     # lines longer than 4096 bytes
    esac
}

fail_all ()
{
    echo "run-fuzz: $1" >&2
    echo "0 passed, ${#targets[@]} failed"
    exit 1
}

for t in "${targets[@]}"; do
    [ -f "$here/fuzz-$t.c" ] || fail_all "unknown target '$t' (FUZZ_TARGETS)"
done
[ ${#pure_sources[@]} -gt 0 ] ||
    fail_all "no pure sources (FUZZ_PURE_SOURCES, or libsshpure_la_SOURCES in $top/Makefile.am)"

mkdir -p "$build/include" "$build/artifacts" "$build/logs" ||
    fail_all "cannot create $build"

# config.h: configure's, or the little the pure parsers need from it.
config_h="${FUZZ_CONFIG_H:-}"
if [ -z "$config_h" ] && [ -f "$top/config.h" ]; then
    config_h="$top/config.h"
fi
if [ -n "$config_h" ]; then
    [ -f "$config_h" ] || fail_all "FUZZ_CONFIG_H=$config_h: no such file"
    cp -f "$config_h" "$build/include/config.h" || fail_all "copying $config_h"
else
    echo "run-fuzz: no config.h (run ./configure to use its own); writing a minimal one"
    printf '%s\n' '/* written by fuzz/run-fuzz.sh: no configure run */' \
        '#ifndef _GNU_SOURCE' '# define _GNU_SOURCE 1' '#endif' \
        > "$build/include/config.h" || fail_all "writing config.h"
fi

command -v "$clang" >/dev/null 2>&1 ||
    fail_all "$clang not found: libFuzzer needs clang (set CLANG=...)"

crypto_cflags=() crypto_libs=(-lcrypto)
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libcrypto; then
    read -r -a crypto_cflags <<< "$(pkg-config --cflags libcrypto)"
    read -r -a crypto_libs <<< "$(pkg-config --libs libcrypto)"
fi

# The targets link libFuzzer (-fsanitize=fuzzer); the pure modules are
# only instrumented for it (fuzzer-no-link), with the same sanitizers.
# shellcheck disable=SC2054   # the commas are -fsanitize's
common_cflags=(-g -O1 -fno-omit-frame-pointer
               -fno-sanitize-recover=undefined
               -Wall -Wextra -Wno-unused-parameter
               -I"$build/include" -I"$top/plugin" -I"$here"
               "${crypto_cflags[@]}" "${extra_cflags[@]}")
# shellcheck disable=SC2054
cflags=(-fsanitize=fuzzer,address,undefined "${common_cflags[@]}")
# shellcheck disable=SC2054
pure_cflags=(-fsanitize=fuzzer-no-link,address,undefined "${common_cflags[@]}")

# The pure modules, once for every target: $build/libsshpure-fuzz.a.
# A target's link takes from it only the members it needs.
pure_dir="$build/pure"
pure_lib="$build/libsshpure-fuzz.a"
pure_log="$build/logs/libsshpure.log"
rm -rf "$pure_dir" "$pure_lib"
mkdir -p "$pure_dir" || fail_all "cannot create $pure_dir"
: > "$pure_log"
pure_objs=()
for src in "${pure_sources[@]}"; do
    obj="$pure_dir/$(echo "${src%.c}" | tr / -).o"
    if ! (cd "$top" && "$clang" "${pure_cflags[@]}" -c -o "$obj" "$src") \
           >>"$pure_log" 2>&1; then
        sed 's/^/  /' "$pure_log" | head -n 40
        fail_all "building $src failed (log: $pure_log)"
    fi
    pure_objs+=("$obj")
done
"${AR:-ar}" rcs "$pure_lib" "${pure_objs[@]}" >>"$pure_log" 2>&1 ||
    fail_all "${AR:-ar} failed (log: $pure_log)"
echo "run-fuzz: ${#pure_objs[@]} pure modules built once into $pure_lib"

work="$(mktemp -d "${TMPDIR:-/tmp}/ssh-plugin-fuzz.XXXXXX")" ||
    fail_all "mktemp failed"
if [ "${FUZZ_KEEP:-}" != 1 ]; then
    trap 'rm -rf "$work"' EXIT
fi
trap 'exit 130' INT TERM

# Sanitizer settings: stack traces, symbolized, and fatal.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# stat NAME LOG: a number from libFuzzer's -print_final_stats.
stat ()
{
    sed -n "s/^stat::$1: *\\([0-9]*\\).*/\\1/p" "$2" | tail -n 1
}

for t in "${targets[@]}"; do
    bin="$build/fuzz-$t"
    log="$build/logs/$t.log"
    : > "$log"

    # Build.
    # shellcheck disable=SC2046
    if ! (cd "$top" &&
          "$clang" "${cflags[@]}" -o "$bin" "fuzz/fuzz-$t.c" "$pure_lib" \
                   $(ldflags "$t") "${crypto_libs[@]}" -pthread) \
           >"$log" 2>&1; then
        echo "FAIL: fuzz-$t: build failed (log: $log)"
        sed 's/^/  /' "$log" | head -n 40
        failed=$((failed + 1))
        continue
    fi

    # A working copy of the seed corpus.
    corpus="$work/corpus/$t"
    mkdir -p "$corpus" "$work/tmp" "$work/run/$t"
    if [ -d "$here/corpus/$t" ]; then
        cp -p "$here/corpus/$t"/* "$corpus"/ 2>/dev/null
    fi
    seeds=$(find "$corpus" -type f | wc -l)
    dict=()
    [ -f "$here/$t.dict" ] && dict=(-dict="$here/$t.dict")
    marker="$work/run/$t.start"
    : > "$marker"

    # shellcheck disable=SC2046
    (cd "$work/run/$t" &&
     TMPDIR="$work/tmp" "$bin" \
         -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
         -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" \
         "${dict[@]}" $(options "$t") "$corpus") >>"$log" 2>&1
    rc=$?

    execs=$(stat number_of_executed_units "$log")
    rate=$(stat average_exec_per_sec "$log")
    rss=$(stat peak_rss_mb "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) .*/\1 \2/p' "$log" | tail -n 1)
    units=$(find "$corpus" -type f | wc -l)
    new=$(find "$build/artifacts" -name "$t-*" -newer "$marker" -type f)

    if [ "$rc" -eq 0 ] && [ -z "$new" ] &&
           ! grep -q -e '^==[0-9]*==ERROR:' -e 'runtime error:' \
                  -e 'ERROR: libFuzzer' -e 'invariant failed' "$log"; then
        echo "PASS: fuzz-$t: ${seconds} s, ${execs:-?} execs" \
             "(${rate:-?}/s), cov ${cov%% *} ft ${cov##* }," \
             "corpus $seeds -> $units, peak rss ${rss:-?} MB"
        passed=$((passed + 1))
    else
        what=$(grep -m 1 -o -e 'ERROR: [A-Za-z]*Sanitizer: [^ ]*' \
                   -e 'ERROR: libFuzzer: [a-z -]*' -e 'runtime error: .*' \
                   -e 'invariant failed: .*' "$log" | head -n 1)
        echo "FAIL: fuzz-$t: ${what:-exit status $rc} after ${execs:-?} execs (log: $log)"
        for a in $new; do
            echo "  input: $a"
            echo "  reproduce: $bin $a"
        done
        # The report: from the first error line, at most 60 lines.
        awk '/^==[0-9]+==ERROR|runtime error:|ERROR: libFuzzer|invariant failed/ {p=1}
             p && n < 60 {print "  " $0; n++}' "$log"
        failed=$((failed + 1))
    fi
done

if [ "${FUZZ_KEEP:-}" = 1 ]; then
    echo "run-fuzz: working corpora kept in $work/corpus"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
