#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Four channels through a ProxyCommand (ssh -W, which reads its input
# only as we read its output): 8 MiB written and read back.  A read
# that took over the half-sent packet of another call hung here until
# the timeout.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy ssh
start_sshd
cd "$SSHD_DIR"
remote="$SSHD_DIR/disk.img"

write_proxy_command_config pc.conf
truncate -s 8M "$remote"
make_random_file local.img 8
run_nbdkit -U - "$PLUGIN" config="$SSHD_DIR/pc.conf" host=viaproxy \
    known-hosts="$KNOWN_HOSTS" path="$remote" channels=4 timeout=30 \
    --run 'nbdcopy --flush local.img "$uri" && nbdcopy "$uri" back.img'
compare_sha256 local.img "$remote"
compare_sha256 local.img back.img
