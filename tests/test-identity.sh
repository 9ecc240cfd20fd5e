#!/usr/bin/env bash
# shellcheck disable=SC2016  # --run '...' is expanded by nbdkit's shell
# Authentication without the agent: identity=KEY works; no identity (and
# no agent) fails with "authentication failed"; an unauthorized key
# fails too; a nonexistent identity file is named in the error.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdinfo nbdcopy ssh-keygen
start_sshd
cd "$SSHD_DIR"

remote="$SSHD_DIR/small.img"
make_random_file "$remote" 1

# The agent works (the other tests rely on it).
run_plugin path="$remote" \
    --run 'nbdcopy "$uri" out-agent.img'
compare_sha256 "$remote" out-agent.img

# No agent, identity=CLIENT_KEY.
( unset SSH_AUTH_SOCK SSH_AGENT_PID
  run_plugin path="$remote" \
      identity="$CLIENT_KEY" --run 'nbdcopy "$uri" out-identity.img' )
compare_sha256 "$remote" out-identity.img

# No agent, no identity.  (HOME is a directory without ~/.ssh, so no
# default key of the user running the tests can get in.)
mkdir -p "$SSHD_DIR/home"
( unset SSH_AUTH_SOCK SSH_AGENT_PID
  export HOME="$SSHD_DIR/home"
  run_plugin_fail err-none.txt path="$remote" \
      --run 'nbdinfo "$uri"' )
expect_grep -i err-none.txt "authentication failed"

# No agent, a key that is not in authorized_keys.
ssh-keygen -q -t ed25519 -N '' -C stranger -f stranger_key
( unset SSH_AUTH_SOCK SSH_AGENT_PID
  run_plugin_fail err-stranger.txt \
      path="$remote" identity="$SSHD_DIR/stranger_key" --run 'nbdinfo "$uri"' )
expect_grep -i err-stranger.txt "authentication failed"

# No agent, identity file does not exist.
missing="$SSHD_DIR/no-such-key"
( unset SSH_AUTH_SOCK SSH_AGENT_PID
  run_plugin_fail err-missing.txt \
      path="$remote" identity="$missing" --run 'nbdinfo "$uri"' )
expect_grep err-missing.txt "$missing"
