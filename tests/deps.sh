# -*- mode: shell-script -*-
# shellcheck shell=bash
#
# The Debian packages needed to build and test the plugin, and a function
# installing the missing ones.  Sourced by ./run-tests and ./quickstart.

# What building the plugin and ./quickstart need.
SSH_PLUGIN_DEB_PACKAGES=(
    gcc make libc6-dev autoconf automake libtool pkg-config
    nbdkit nbdkit-plugin-dev libssh2-1-dev libssl-dev
    openssh-server openssh-client
    libnbd-bin python3-libnbd qemu-utils
)
# What the test suite needs on top (./run-tests sets SSH_PLUGIN_TESTS=1):
# valgrind and clang for the checked passes and the fuzz targets, fio,
# sfdisk, debugfs, guestfish with a kernel for its appliance, pyflakes
# (tests/test-python-lint.sh); and what tests/test-debian-package.sh
# needs to build the Debian package (debian/control's Build-Depends
# above, debhelper, dpkg-dev, and build-essential, which
# dpkg-checkbuilddeps requires; perl for pod2man).
if [ "${SSH_PLUGIN_TESTS:-}" = 1 ]; then
    SSH_PLUGIN_DEB_PACKAGES+=(
        valgrind clang libclang-rt-dev
        fio fdisk e2fsprogs libguestfs-tools linux-image-amd64
        python3-pyflakes
        debhelper dpkg-dev build-essential perl
    )
fi

# deps_missing: print the packages of the list that are not installed.
deps_missing ()
{
    local p
    for p in "${SSH_PLUGIN_DEB_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
                grep -q '^install ok installed$'; then
            echo "$p"
        fi
    done
}

# install_deps: install what is missing with apt-get (apt-get update
# first, once).  Returns non-zero if that is impossible or fails.
install_deps ()
{
    local -a missing sudo=()
    if ! command -v dpkg-query >/dev/null 2>&1; then
        echo "install_deps: not a Debian system; make sure these are installed:" >&2
        echo "  ${SSH_PLUGIN_DEB_PACKAGES[*]}" >&2
        return 0
    fi
    mapfile -t missing < <(deps_missing)
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    echo "install_deps: installing missing packages: ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            echo "install_deps: not root and no sudo: install them yourself" >&2
            return 1
        fi
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -q -o Dpkg::Use-Pty=0 update || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -q -o Dpkg::Use-Pty=0 install -y --no-install-recommends \
        "${missing[@]}" || return 1
    mapfile -t missing < <(deps_missing)
    if [ ${#missing[@]} -ne 0 ]; then
        echo "install_deps: still missing after apt-get: ${missing[*]}" >&2
        return 1
    fi
}
