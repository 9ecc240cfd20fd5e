#!/usr/bin/env bash
# Every parameter in the man page is in --help and in the README, and
# --dump-plugin reports the libssh2 and OpenSSL versions and the
# algorithms this libssh2 offers.

set -e
source "$(dirname "$0")/functions.sh"
set -x

pod="$srcdir/../plugin/nbdkit-ssh-plugin.pod"
readme="$srcdir/../README.md"
tmp="$(mktemp -d /tmp/sshhelp.XXXXXX)"
cleanup_fn rm -rf "$tmp"
cd "$tmp"
run_nbdkit "$PLUGIN" --help > help.txt
run_nbdkit "$PLUGIN" --dump-plugin > dump.txt

params="$(sed -n 's/^=item \[\{0,1\}B<\([a-z-]*\)=.*/\1/p' "$pod" | sort -u)"
[ "$(echo "$params" | wc -l)" -ge 20 ] || { echo "FAIL: too few parameters found in $pod"; exit 1; }
for p in $params; do
    grep -q -- "$p=" help.txt || { echo "FAIL: $p= not in --help"; exit 1; }
    grep -q -- "\`$p=" "$readme" || { echo "FAIL: $p= not in README.md"; exit 1; }
done
for k in ssh_libssh2_version ssh_openssl_version ssh_kex ssh_hostkey \
         ssh_ciphers ssh_macs; do
    grep -q "^$k=." dump.txt || { echo "FAIL: $k missing from --dump-plugin"; exit 1; }
done
grep -q "^ssh_ciphers=.*aes128-ctr" dump.txt
