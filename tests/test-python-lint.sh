#!/usr/bin/env bash
# The Python of the tests and of the benchmark (tests/*.py, bench/*.py)
# passes pyflakes: no syntax error, undefined name, unused import or
# variable, redefinition...  Any message fails the test.  (pyflakes
# only reads the files: this also runs in make distcheck's read-only
# source tree.)

set -e
# shellcheck source=tests/functions.sh
source "$(dirname "$0")/functions.sh"
set -x

requires /usr/bin/python3
requires_run "pyflakes (Debian package python3-pyflakes)" \
    /usr/bin/python3 -m pyflakes --version

shopt -s nullglob
files=("$srcdir"/*.py "$srcdir"/../bench/*.py)
shopt -u nullglob
# The shared helpers at least (a wrong srcdir finds nothing to check).
for f in nbdtest.py sshdprocs.py; do
    [ -f "$srcdir/$f" ] || { echo "FAIL: $srcdir/$f not found" >&2; exit 1; }
done
echo "pyflakes on ${#files[@]} files"

r=0
out="$(/usr/bin/python3 -m pyflakes "${files[@]}" 2>&1)" || r=$?
if [ "$r" -ne 0 ] || [ -n "$out" ]; then
    printf '%s\n' "$out" >&2
    echo "FAIL: pyflakes found problems (exit status $r) in the files above" >&2
    exit 1
fi
