#!/usr/bin/env bash
# shellcheck disable=SC2016  # the snippet is expanded by nbdkit's shell
# The nbdsh example of README.md ("Read the size and the first sector from
# Python with nbdsh") run as a test, against the test sshd: README's
# host=server path=/srv/disk.img become this test's SSH_ARGS and remote
# file.  The test keeps a copy of the example and first checks that
# README.md still contains it, line for line: if the README's example is
# changed, this test fails until its copy below is updated to match.

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires nbdsh sha256sum
requires_libnbd_python

readme="$srcdir/../README.md"
[ -f "$readme" ] || { echo "FAIL: $readme not found" >&2; exit 1; }

# The example, exactly as in README.md (2 lines), and its --run command.
# shellcheck disable=SC1003  # the backslash is literal, ending line 1
readme_line1='nbdkit -U - ./ssh-plugin.so host=server path=/srv/disk.img \'
readme_line2='       --run '\''nbdsh -u "$uri" -c "print(h.get_size()); buf = h.pread(512, 0)"'\'''
snippet='nbdsh -u "$uri" -c "print(h.get_size()); buf = h.pread(512, 0)"'

start_sshd
cd "$SSHD_DIR"

# The README's code blocks that run nbdsh, each followed by "----".
/usr/bin/python3 "$srcdir/test-readme-nbdsh-blocks.py" "$readme" \
    > readme-nbdsh.txt
printf '%s\n%s\n----\n' "$readme_line1" "$readme_line2" > readme-nbdsh.want
if ! cmp -s readme-nbdsh.want readme-nbdsh.txt; then
    echo "FAIL: README.md's nbdsh example is not the one this test runs." >&2
    echo "README.md has:" >&2
    cat readme-nbdsh.txt >&2
    echo "this test expects:" >&2
    cat readme-nbdsh.want >&2
    echo "(update the copy in $0 to match README.md)" >&2
    exit 1
fi
# The snippet is the --run argument of line 2.
test "$readme_line2" = "       --run '$snippet'"

remote="$SSHD_DIR/disk.img"
make_random_file "$remote" 3 333
size=$(stat -c %s "$remote")

# The example as it is: prints the size.
run_plugin path="$remote" \
    --run "$snippet" > out.txt
cat out.txt
test "$(cat out.txt)" = "$size"

# The same, read-only (nbdkit -r), and with one more -c printing the
# SHA-256 of the sector the example read into buf.
run_plugin -r path="$remote" \
    --run "$snippet"' -c "import hashlib; print(hashlib.sha256(buf).hexdigest())"' \
    > out2.txt
cat out2.txt
want="$(head -c 512 "$remote" | sha256sum)"
printf '%s\n%s\n' "$size" "${want%% *}" > out2.want
cmp out2.want out2.txt
