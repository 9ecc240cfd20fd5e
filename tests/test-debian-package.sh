#!/usr/bin/env bash
# The Debian package (debian/): nbdkit-plugin-libssh2 takes over
# "nbdkit ssh" by diverting the nbdkit package's libssh-based plugin
# (and its man page) to nbdkit-libssh-ssh-plugin.so ("nbdkit
# libssh-ssh"), keeps its place when nbdkit is reinstalled, and gives
# it back when removed.
#
# Built with dpkg-buildpackage -us -uc -b from a copy of the source tree
# (never in the tree make check runs in), installed with apt-get; then
# "nbdkit ssh" (by name, as libvirt and virt-v2v run it) must be ours and
# read and write the test sshd's file, "nbdkit libssh-ssh" the libssh
# plugin, and "dpkg -V nbdkit" clean, after the install, after
# "apt-get install --reinstall nbdkit", and (the other way round) after
# the package is removed and purged.
#
# It changes the system: root only, on a Debian with nbdkit installed
# and nothing of the package's there yet; the machine is restored on
# any exit (restore_machine).  While the package is installed "nbdkit
# ssh" is ours, so this test runs after every other test of the same
# make check (Makefile.am), and not in the valgrind and ASan passes
# (SSH_PLUGIN_CHECK: the package is a plain build anyway).

set -e
source "$(dirname "$0")/functions.sh"
set -x

PKG=nbdkit-plugin-libssh2

case "${SSH_PLUGIN_CHECK:-}" in
    ""|none|no) ;;
    *)
        echo "$0: test skipped because SSH_PLUGIN_CHECK=$SSH_PLUGIN_CHECK: the package is a plain build that installs system-wide; it is tested in the plain pass" >&2
        exit 77
        ;;
esac
[ "$(id -u)" -eq 0 ] ||
    _skip_or_fail "this test must run as root (it installs and removes a Debian package)"
requires dpkg dpkg-query dpkg-divert dpkg-deb dpkg-buildpackage \
         dpkg-checkbuilddeps dpkg-parsechangelog apt-get dh \
         nbdkit nbdcopy ldd sha256sum timeout tar
[ "$(dpkg-query -W -f='${Status}' nbdkit 2>/dev/null)" = "install ok installed" ] ||
    _skip_or_fail "Debian's nbdkit package is not installed"

# One package test at a time, on the whole machine (dpkg's state), and
# none beside the tests whose timing matters: building loads the machine.
exclusive_test

plugindir="$(nbdkit --dump-config | sed -n 's/^plugindir=//p')"
so="$plugindir/nbdkit-ssh-plugin.so"
so_libssh="$plugindir/nbdkit-libssh-ssh-plugin.so"
man=/usr/share/man/man1/nbdkit-ssh-plugin.1.gz
man_libssh=/usr/share/man/man1/nbdkit-libssh-ssh-plugin.1.gz
nbdkit_version="$(dpkg-query -W -f='${source:Upstream-Version}' nbdkit)"

# The machine as the distribution left it, or the test would end by
# "restoring" something else.
case "$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null || :)" in
    ""|"unknown ok not-installed"|"deinstall ok not-installed"|"purge ok not-installed"|"deinstall ok config-files") ;;
    *) _skip_or_fail "$PKG is installed here; the test would remove it (apt-get purge $PKG first)" ;;
esac
for f in "$so" "$man"; do
    d="$(dpkg-divert --listpackage "$f")"
    [ -z "$d" ] || _skip_or_fail "$f is diverted by $d already (dpkg-divert --list)"
done
[ ! -e "$so_libssh" ] || _skip_or_fail "$so_libssh exists already"
verify="$(timeout 120 dpkg -V nbdkit 2>&1)" || :
if [ -n "$verify" ]; then
    echo "$verify" >&2
    _skip_or_fail "dpkg -V nbdkit is not clean (a make install over nbdkit's plugin? apt-get install --reinstall nbdkit)"
fi

work="$(mktemp -d /tmp/sshdeb.XXXXXX)"
cleanup_fn rm -rf "$work"
chmod 755 "$work"               # apt's _apt user reads the .deb there

# ----------------------------------------------------------------------
# The package, from a copy of the sources.

top="$(cd "$srcdir/.." && pwd -P)"
build="$(cd "${abs_top_builddir:-$top}" && pwd -P)"
version="$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac")"
[ -n "$version" ] || { echo "FAIL: no version in $top/configure.ac"; exit 1; }
src="$work/$PKG-$version"
mkdir "$src"

set -o pipefail
if [ "$(git -C "$top" rev-parse --show-toplevel 2>/dev/null)" = "$top" ]; then
    # A git checkout: the files git tracks (as they are now) and the new
    # ones it does not ignore; no build products.
    git -C "$top" ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            [ ! -e "$top/$f" ] || printf '%s\0' "$f"
        done |
        tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
    # A tarball's tree (make distcheck: read-only, the build in a
    # subdirectory): everything but the build tree and build products.
    excl=()
    case "$build" in
        "$top/"*) excl+=("--exclude=./${build#"$top"/}") ;;
    esac
    tar -C "$top" "${excl[@]}" --exclude-vcs \
        --exclude=autom4te.cache --exclude=.libs --exclude=.deps \
        --exclude=Makefile --exclude=config.status --exclude=config.log \
        --exclude=config.h --exclude=stamp-h1 --exclude=libtool \
        --exclude='*.o' --exclude='*.lo' --exclude='*.la' --exclude='*.so' \
        --exclude='*.log' --exclude='*.trs' --exclude=nbdkit-ssh-plugin.1 \
        --exclude=./debian/.debhelper --exclude="./debian/$PKG" \
        --exclude=./debian/files --exclude='./debian/*.substvars' \
        --exclude=./debian/debhelper-build-stamp \
        -cf - . | tar -C "$src" -xf -
    chmod -R u+w "$src"
fi
set +o pipefail
[ -f "$src/debian/control" ] || { echo "FAIL: no debian/ in the copy $src"; exit 1; }

cl_version="$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)"
[ "$cl_version" = "$version" ] || {
    echo "FAIL: debian/changelog is at $cl_version, configure.ac at $version"; exit 1; }

if ! (cd "$src" && dpkg-checkbuilddeps) > "$work/builddeps.txt" 2>&1; then
    cat "$work/builddeps.txt" >&2
    _skip_or_fail "the package's build dependencies are missing: $(cat "$work/builddeps.txt")"
fi

# Not make check's environment (its MAKEFLAGS, srcdir, PLUGIN...): a
# user's shell.
t0=$SECONDS
r=0
(cd "$src" &&
     timeout --kill-after=10 900 \
         env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin HOME="${HOME:-/root}" \
         LC_ALL=C.UTF-8 DEB_BUILD_OPTIONS=parallel=2 \
         SSH_PLUGIN_TEST_ID="$SSH_PLUGIN_TEST_ID" \
         SSH_PLUGIN_TEST_TREE="$SSH_PLUGIN_TEST_TREE" \
         dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1 || r=$?
if [ "$r" -ne 0 ]; then
    tail -n 60 "$work/build.log"
    echo "FAIL: dpkg-buildpackage -us -uc -b exited with status $r"
    exit 1
fi
echo "dpkg-buildpackage -us -uc -b: $(( SECONDS - t0 )) s"

deb="$work/${PKG}_${version}_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || { ls -l "$work"; echo "FAIL: $deb not built"; exit 1; }
dpkg-deb -I "$deb"
dpkg-deb -c "$deb"
# The plugin and its man page where nbdkit and man look for them,
# nothing libtool-only, and the dependencies that make it load.
dpkg-deb -c "$deb" | awk '{print $6}' > "$work/contents.txt"
grep -qFx ".$so" "$work/contents.txt"
grep -qFx ".$man" "$work/contents.txt"
if grep '\.la$' "$work/contents.txt"; then echo "FAIL: a .la in the package"; exit 1; fi
depends="$(dpkg-deb -f "$deb" Depends)"
[[ "$depends" == *"nbdkit (>= "* ]] && [[ "$depends" == *libssh2-1* ]] || {
    echo "FAIL: Depends: $depends"; exit 1; }
dpkg-deb -x "$deb" "$work/x"
sha () { local s; s="$(sha256sum < "$1")"; echo "${s%% *}"; }
sha_so_ours="$(sha "$work/x$so")"
sha_man_ours="$(sha "$work/x$man")"
sha_so_dist="$(sha "$so")"
sha_man_dist="$(sha "$man")"

# ----------------------------------------------------------------------
# Checks.

# The checks below print what they look at and say what failed; they
# run untraced (the --dump-plugin output would be traced at every use).

# show_ssh STEP: what "nbdkit ssh --dump-plugin" says now (in the log,
# and in $dump).
show_ssh ()
{
    dump="$(timeout 60 nbdkit ssh --dump-plugin)" || {
        echo "FAIL: $1: nbdkit ssh --dump-plugin failed"; exit 1; }
    echo "===== $1: nbdkit ssh --dump-plugin ====="
    printf '%s\n' "$dump"
    echo "===== $1: $(ldd "$so" | grep -o -E 'libssh2?\.so\.[0-9]+' | sort -u | tr '\n' ' ')linked by $so ====="
}

# dump_field FIELD: FIELD's value in $dump.
dump_field () { printf '%s\n' "$dump" | sed -n "s/^$1=//p"; }

# ssh_is_ours STEP: this package's plugin is nbdkit ssh, nbdkit's
# libssh plugin nbdkit libssh-ssh, and dpkg -V finds nothing wrong.
ssh_is_ours ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    show_ssh "$1"
    if [ "$(dump_field path)" != "$so" ] || [ "$(dump_field version)" != "$version" ] ||
           [ -z "$(dump_field ssh_libssh2_version)" ] ||
           ! ldd "$so" | grep -q 'libssh2\.so' ||
           [ "$(sha "$so")" != "$sha_so_ours" ] || [ "$(sha "$man")" != "$sha_man_ours" ]; then
        echo "FAIL: $1: nbdkit ssh is not this package's plugin"
        exit 1
    fi
    # The distribution's, under the diverted names.
    [ "$(sha "$so_libssh")" = "$sha_so_dist" ] && [ "$(sha "$man_libssh")" = "$sha_man_dist" ] || {
        echo "FAIL: $1: $so_libssh or $man_libssh is not nbdkit's"; exit 1; }
    dump="$(timeout 60 nbdkit libssh-ssh --dump-plugin)" || {
        echo "FAIL: $1: nbdkit libssh-ssh --dump-plugin failed"; exit 1; }
    echo "----- $1: nbdkit libssh-ssh --dump-plugin (head) -----"
    printf '%s\n' "$dump" | head -n 3
    if [ "$(dump_field path)" != "$so_libssh" ] ||
           [ "$(dump_field version)" != "$nbdkit_version" ] ||
           [ -n "$(dump_field ssh_libssh2_version)" ] ||
           ! ldd "$so_libssh" | grep -q 'libssh\.so'; then
        echo "FAIL: $1: nbdkit libssh-ssh is not nbdkit's libssh plugin"
        exit 1
    fi
    [ "$(dpkg-divert --listpackage "$so")" = "$PKG" ] &&
        [ "$(dpkg-divert --truename "$so")" = "$so_libssh" ] &&
        [ "$(dpkg-divert --listpackage "$man")" = "$PKG" ] &&
        [ "$(dpkg-divert --truename "$man")" = "$man_libssh" ] || {
            dpkg-divert --list; echo "FAIL: $1: the diversions are not $PKG's"; exit 1; }
    dpkg_verify_clean "$1" nbdkit
    dpkg_verify_clean "$1" "$PKG"
    echo "$1: nbdkit ssh is $PKG's, nbdkit libssh-ssh nbdkit's libssh plugin; diversions $PKG's; dpkg -V nbdkit $PKG clean"
}

# ssh_is_libssh STEP: nbdkit's libssh plugin is nbdkit ssh again, as
# shipped, and nothing of this package is left.
ssh_is_libssh ()
{
    { local -; set +x; } 19>/dev/null 2>/dev/null
    show_ssh "$1"
    if [ "$(dump_field path)" != "$so" ] ||
           [ "$(dump_field version)" != "$nbdkit_version" ] ||
           [ -n "$(dump_field ssh_libssh2_version)" ] ||
           ! ldd "$so" | grep -q 'libssh\.so' ||
           [ "$(sha "$so")" != "$sha_so_dist" ] || [ "$(sha "$man")" != "$sha_man_dist" ]; then
        echo "FAIL: $1: nbdkit ssh is not nbdkit's libssh plugin"
        exit 1
    fi
    [ ! -e "$so_libssh" ] && [ ! -e "$man_libssh" ] || {
        echo "FAIL: $1: $so_libssh or $man_libssh left behind"; exit 1; }
    [ -z "$(dpkg-divert --listpackage "$so")" ] &&
        [ -z "$(dpkg-divert --listpackage "$man")" ] || {
            dpkg-divert --list; echo "FAIL: $1: a diversion is left"; exit 1; }
    ! dpkg-divert --list | grep -F "$PKG" || {
        echo "FAIL: $1: $PKG still holds a diversion"; exit 1; }
    # The plugin directory as it was before the package.
    ls -A "$plugindir" > "$work/plugindir.now"
    if [ -f "$work/plugindir.before" ] &&
           ! diff -u "$work/plugindir.before" "$work/plugindir.now"; then
        echo "FAIL: $1: $plugindir is not as it was before the install"
        exit 1
    fi
    if dpkg -S "$plugindir" "$man" 2>/dev/null | grep -F "$PKG"; then
        echo "FAIL: $1: dpkg still lists files of $PKG"
        exit 1
    fi
    dpkg_verify_clean "$1" nbdkit
    echo "$1: nbdkit ssh is nbdkit's libssh plugin as shipped; no diversion, no file of $PKG; dpkg -V nbdkit clean"
}

# dpkg_verify_clean STEP PACKAGE: dpkg -V PACKAGE finds nothing.
dpkg_verify_clean ()
{
    local out
    out="$(timeout 120 dpkg -V "$2" 2>&1)" && [ -z "$out" ] || {
        echo "FAIL: $1: dpkg -V $2:"; echo "$out"; exit 1; }
}

apt ()
{
    timeout --kill-after=10 600 env DEBIAN_FRONTEND=noninteractive \
        apt-get -q -y -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=120 "$@"
}

# pkg_known: dpkg knows the package in some state (not purged).
pkg_known ()
{
    case "$(dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null)" in
        ""|*not-installed) return 1 ;;
    esac
}

# restore_machine: whatever happened, the package purged, no diversion
# of ours left, nbdkit's plugin in place and as shipped.
restore_machine ()
{
    local f s
    set +e
    if pkg_known; then
        echo "restore_machine: purging $PKG ($(dpkg-query -W -f='${Status}' "$PKG"))"
        timeout --kill-after=10 300 dpkg --purge "$PKG"
    fi
    if pkg_known; then
        # Its own maintainer scripts fail (a broken postrm): purge it
        # without them; the diversions are removed below.
        echo "restore_machine: WARNING: dpkg --purge $PKG failed; purging it without its maintainer scripts"
        for s in prerm postrm; do
            [ ! -f "/var/lib/dpkg/info/$PKG.$s" ] ||
                printf '#!/bin/sh\nexit 0\n' > "/var/lib/dpkg/info/$PKG.$s"
        done
        timeout --kill-after=10 300 dpkg --purge "$PKG"
    fi
    for f in "$so" "$man"; do
        if [ "$(dpkg-divert --listpackage "$f")" = "$PKG" ]; then
            echo "restore_machine: removing the diversion of $f"
            timeout 60 dpkg-divert --package "$PKG" --rename --remove "$f"
        fi
    done
    if [ ! -f "$so" ] || [ ! -f "$man" ] || [ -e "$so_libssh" ] ||
           [ -n "$(timeout 120 dpkg -V nbdkit 2>&1)" ]; then
        echo "restore_machine: reinstalling nbdkit"
        rm -f "$so_libssh" "$man_libssh"
        apt install --reinstall nbdkit
    fi
    if pkg_known || [ -n "$(dpkg-divert --list | grep -F "$PKG")" ] ||
           [ -n "$(timeout 120 dpkg -V nbdkit 2>&1)" ] ||
           ! ldd "$so" | grep -q 'libssh\.so'; then
        echo "restore_machine: WARNING: the machine is not as it was: check dpkg -V nbdkit; dpkg-divert --list"
    fi
}

# ----------------------------------------------------------------------
# Before: the distribution's plugin.

ssh_is_libssh "before install"
cp "$work/plugindir.now" "$work/plugindir.before"

# The reinstall below must not depend on the network halfway through.
apt install --reinstall --download-only nbdkit > "$work/download.log" 2>&1 || {
    cat "$work/download.log"
    _skip_or_fail "apt-get cannot fetch nbdkit's package (needed to check a reinstall of nbdkit)"
}

start_sshd
cd "$SSHD_DIR"
make_random_file disk.img 4

# read_write STEP PLUGIN [PARAM...]: through nbdkit PLUGIN (by name),
# read the test sshd's disk.img, then write new data over it.
read_write ()
{
    local step="$1" plugin="$2"
    shift 2
    rm -f read.img
    run_nbdkit -U - "$plugin" "${SSH_ARGS[@]}" "path=$SSHD_DIR/disk.img" \
        --run 'nbdcopy "$uri" read.img'
    compare_sha256 disk.img read.img
    make_random_file new.img 4
    run_nbdkit -U - "$plugin" "${SSH_ARGS[@]}" "path=$SSHD_DIR/disk.img" "$@" \
        --run 'nbdcopy --flush new.img "$uri"'
    compare_sha256 new.img disk.img
    echo "$step: nbdkit $plugin read and wrote $SSHD_DIR/disk.img (checksums match)"
}

cleanup_fn restore_machine

# ----------------------------------------------------------------------
# Installed: ours is "nbdkit ssh", the libssh plugin "nbdkit libssh-ssh".

apt install "$deb"
ssh_is_ours "after apt-get install ./$(basename "$deb")"
# channels= is ours only: the libssh plugin would refuse it.
read_write "after install" ssh channels=1
read_write "after install" libssh-ssh
# man nbdkit-ssh-plugin is ours, man nbdkit-libssh-ssh-plugin nbdkit's.
if command -v man >/dev/null; then
    [ "$(man -w nbdkit-ssh-plugin)" = "$man" ] &&
        [ "$(man -w nbdkit-libssh-ssh-plugin)" = "$man_libssh" ] || {
            echo "FAIL: man -w does not find the two man pages"; exit 1; }
fi

# A reinstall (or upgrade) of nbdkit writes its plugin under the
# diverted name: ours stays.
apt install --reinstall nbdkit
ssh_is_ours "after apt-get install --reinstall nbdkit"
read_write "after reinstalling nbdkit" ssh channels=1

# ----------------------------------------------------------------------
# Removed, then purged: the distribution's plugin is back.

apt remove "$PKG"
ssh_is_libssh "after apt-get remove $PKG"
read_write "after remove" ssh
apt purge "$PKG"
ssh_is_libssh "after apt-get purge $PKG"
if pkg_known; then
    echo "FAIL: $PKG is still known to dpkg after purge: $(dpkg-query -W -f='${Status}' "$PKG")"
    exit 1
fi
echo "test-debian-package: $(( SECONDS - _test_started )) s in all"
