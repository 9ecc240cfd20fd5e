#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# channels=auto over a 100 ms round trip (bench/delay-proxy, 50 ms each
# way): three more channels, set up while the writes go on; four
# channels in all, and the data right.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

delay_proxy="${abs_top_builddir:-$srcdir/..}/bench/delay-proxy"
if [ ! -x "$delay_proxy" ]; then
    requires cc
    delay_proxy="$SSHD_DIR/delay-proxy"
    cc -std=gnu11 -O2 -pthread -o "$delay_proxy" "$srcdir/../bench/delay-proxy.c"
fi
"$delay_proxy" 0 127.0.0.1 "$SSHD_PORT" 50 > delay.out 2> delay.err &
delay_pid=$!
cleanup_fn kill "$delay_pid"
for (( i = 0; i < 100; ++i )); do
    dport="$(sed -n 's/^port \([0-9]*\)$/\1/p' delay.out)"
    [ -z "$dport" ] || break
    sleep 0.1
done
[ -n "$dport" ]
sed -n "s/^\[127.0.0.1\]:$SSHD_PORT /[127.0.0.1]:$dport /p" "$KNOWN_HOSTS" \
    > delay_known_hosts
[ -s delay_known_hosts ]
truncate -s 8M "$remote"
make_random_file local.img 8
run_nbdkit -v -D ssh.log=1 -U - "$PLUGIN" host=127.0.0.1 port="$dport" \
    known-hosts="$PWD/delay_known_hosts" path="$remote" idle-keep=0 \
    --run 'nbdcopy --connections=1 --flush local.img "$uri"' 2> nbdkit.err || {
    tail -50 nbdkit.err; exit 1; }
compare_sha256 local.img "$remote"
expect_grep nbdkit.err "opening 3 more SFTP channels"
