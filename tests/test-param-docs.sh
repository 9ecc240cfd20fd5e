#!/usr/bin/env bash
# The parameters are defined once, in plugin/config.c's param_table,
# which --help is made from.  README.md's parameter table and the man
# page's PARAMETERS must name exactly the same parameters: a parameter
# added to the plugin but not documented, or documented but gone from
# the plugin, fails here with the difference.
#
# Where the names are taken from:
#   --help     lines beginning with KEY= or [KEY=] (the magic key); a
#              parameter's text is indented (config_help_init)
#   README.md  the first cell of each row of the table headed
#              "| parameter | meaning |" that begins with `KEY=...`:
#              every `KEY=...` in that cell (a row may document several)
#   pod        =item B<KEY=>... or =item [B<KEY=>]... under =head1
#              PARAMETERS (nested items such as C<SHA256:> do not count)

set -e
source "$(dirname "$0")/functions.sh"
set -x

pod="$srcdir/../plugin/nbdkit-ssh-plugin.pod"
readme="$srcdir/../README.md"
tmp="$(mktemp -d /tmp/sshparamdocs.XXXXXX)"
cleanup_fn rm -rf "$tmp"
cd "$tmp"
export LC_ALL=C

run_nbdkit "$PLUGIN" --help > help.txt
sed -n '/^plugin: /,$p' help.txt |
    sed -n 's/^\[\{0,1\}\([a-z][a-z-]*\)=.*/\1/p' > plugin-all.txt
sort plugin-all.txt > plugin-sorted.txt
sort -u plugin-all.txt > plugin.txt

# The README's parameter table: its rows up to the first line that is
# not a table row; "\|" inside a cell is not a cell boundary.
awk '/^\| parameter \| meaning \|$/ { t = 1; next }
     t && !/^\|/ { exit }
     t' "$readme" |
    sed 's/\\|/ /g' | cut -d'|' -f2 |
    grep -E '^ *`\[?[a-z][a-z-]*=' |
    grep -oE '`\[?[a-z][a-z-]*=' | tr -d '`[=' | sort -u > readme.txt

awk '/^=head1 PARAMETERS$/ { p = 1; next } /^=head1 / { p = 0 } p' "$pod" |
    sed -n 's/^=item \[\{0,1\}B<\([a-z][a-z-]*\)=.*/\1/p' | sort -u > pod.txt

set +x
fail=0
n="$(wc -l < plugin.txt)"
if [ "$n" -lt 20 ]; then
    echo "FAIL: only $n parameters found in --help:"; cat help.txt
    fail=1
fi
if ! cmp -s plugin-sorted.txt plugin.txt; then
    echo "FAIL: a parameter is in --help (param_table) more than once:"
    uniq -d plugin-sorted.txt
    fail=1
fi
# compare NAME FILE: the parameters of FILE must be the plugin's.
compare ()
{
    local missing extra
    missing="$(comm -23 plugin.txt "$2")"
    extra="$(comm -13 plugin.txt "$2")"
    if [ -n "$missing" ]; then
        echo "FAIL: parameters of the plugin missing from $1:" $missing
        fail=1
    fi
    if [ -n "$extra" ]; then
        echo "FAIL: parameters in $1 that the plugin does not have:" $extra
        fail=1
    fi
}
compare "README.md's parameter table" readme.txt
compare "the man page's PARAMETERS" pod.txt
[ "$fail" = 0 ] || exit 1
echo "OK: $n parameters, the same in --help, README.md and the man page:" \
     $(cat plugin.txt)
