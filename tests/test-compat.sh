#!/usr/bin/env bash
# Drop-in compatibility: command lines written for nbdkit's own
# (libssh-based) ssh plugin, run unchanged against ours.  Every
# parameter of its man page (host port user password config known-hosts
# identity verify-remote-host timeout compression create create-size
# create-mode, path as the magic key), its %-sequences, and libvirt's
# invocation (--unix --foreground --readonly --filter readahead, host
# port path user identity or password=-FD, known-hosts,
# verify-remote-host, SSH_AUTH_SOCK in the environment).
#
# Where Debian's libssh-based plugin is installed (nbdkit ssh), every
# line runs against it too and the two are compared line by line: the
# same success or failure, and on success the same data (SHA-256).  The
# few documented differences (nbdkit-ssh-plugin(1), "Compatibility with
# nbdkit's libssh-based plugin") are listed with the outcome each plugin
# must have.

set -e
source "$(dirname "$0")/functions.sh"
set -x

requires nbdcopy sha256sum stat
start_sshd "PasswordAuthentication yes"
cd "$SSHD_DIR"

# nbdkit's libssh plugin, loaded by name: "libssh-ssh" while our Debian
# package (debian/) is installed and diverts it there, else "ssh".
plugindir="$(nbdkit --dump-config | sed -n 's/^plugindir=//p')"
PEER=
for name in libssh-ssh ssh; do
    peer_so="$plugindir/nbdkit-$name-plugin.so"
    if [ -f "$peer_so" ] && ldd "$peer_so" 2>/dev/null | grep -q 'libssh\.so'; then
        PEER="$name"
        break
    fi
done
if [ -n "$PEER" ]; then
    echo "nbdkit's libssh-based ssh plugin: nbdkit $PEER ($peer_so)"
    libssh_version="$(dpkg-query -W -f='${Version}' libssh-4 2>/dev/null || echo 0)"
else
    echo "nbdkit's libssh-based ssh plugin is not installed: ours only"
fi

MiB=$(( 1024 * 1024 ))
make_random_file disk.img 4
ref="$(sha256sum < disk.img)"; ref="${ref%% *}"
disk="$SSHD_DIR/disk.img"
kh="$KNOWN_HOSTS"
key="$CLIENT_KEY"
agent="$SSH_AUTH_SOCK"
pw_home="$(getent passwd "$(id -u)" | cut -d: -f6)"
lhost="$(hostname)"

# A user with a password, for password= (libvirt passes it as -FD).
add_password_user nbdc
user="$TEST_USER" password="$TEST_PASSWORD" user_home="$TEST_HOME"
printf '%s' "$password" > pw
cp disk.img "$user_home/disk.img"
chown "$user" "$user_home/disk.img"

# Files the %-sequences must find.
cp "$kh" "kh-127.0.0.1-$SSHD_PORT-root-$(id -un)"
cp "$kh" "kh-%-x"
cp "$kh" "kh-$lhost"
cp "$key" "id-root"; chmod 600 id-root
printf 'Host myalias\n  HostName 127.0.0.1\n  Port %s\n  User root\n' \
       "$SSHD_PORT" > cfg-myalias
mkdir sub
printf 'Host *\n  User root\n' > sub/cfg-root

# One line: run_line PLUGIN OUTFILE ARGS... (nbdkit options, then the
# plugin's parameters); prints "ok SHA" or "fail".  $RUN is the --run
# command (default: read the export into OUTFILE).
RUN=
run_line ()
{
    local plugin="$1" out="$2" r=0 sum
    shift 2
    local -a opts=() params=()
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
    [ "$#" -gt 0 ] && shift
    params=("$@")
    rm -f "$out" "$SSHD_DIR/libvirt.sock"
    local run="${RUN:-nbdcopy \"\$uri\" $out}"
    if [ -n "$PEER" ] && [ "$plugin" = "$PEER" ]; then
        # Not ours: no checker (valgrind, ASan) for the installed plugin.
        SSH_PLUGIN_CHECK= run_nbdkit "${opts[@]}" "$PEER" "${params[@]}" \
            --run "$run" 7< pw > "$out.log" 2>&1 || r=$?
    else
        run_nbdkit "${opts[@]}" "$plugin" "${params[@]}" \
            --run "$run" 7< pw > "$out.log" 2>&1 || r=$?
    fi
    if [ "$r" -eq 0 ]; then
        if [ -f "$out" ]; then
            sum="$(sha256sum < "$out")"; echo "ok ${sum%% *}"
        else
            echo "ok -"
        fi
    else
        echo "fail"
    fi
}

# compat NAME OURS THEIRS [NBDKIT_OPTION... --] PARAM...
# OURS and THEIRS: the outcome each plugin must have: "ok" (and, for a
# read, the data of disk.img) or "fail".  The same word means the two
# plugins behave alike; different words are a documented difference.
n=0
failures=0
report=()
compat ()
{
    local name="$1" want_ours="$2" want_theirs="$3" got_ours got_theirs
    shift 3
    local -a args=("$@")
    [[ " ${args[*]} " == *" -- "* ]] || args=(-U - -- "${args[@]}")
    n=$(( n + 1 ))
    got_ours="$(run_line "$PLUGIN" "ours-$n.img" "${args[@]}")"
    check_outcome "$name" ours "$want_ours" "$got_ours" "ours-$n.img.log"
    got_theirs="(not installed)"
    if [ -n "$PEER" ]; then
        got_theirs="$(run_line "$PEER" "theirs-$n.img" "${args[@]}")"
        check_outcome "$name" "nbdkit's" "$want_theirs" "$got_theirs" \
                      "theirs-$n.img.log"
        if [ "$want_ours" = "$want_theirs" ] &&
               [ "${got_ours%% *}" = ok ] && [ "$got_ours" != "$got_theirs" ]; then
            echo "FAIL: $name: the plugins served different data" >&2
            failures=$(( failures + 1 ))
        fi
    fi
    report+=("$(printf '%-44s ours: %-6s nbdkit: %-6s %s' "$name" \
        "${got_ours%% *}" "${got_theirs%% *}" \
        "$([ "$want_ours" = "$want_theirs" ] && echo same || echo 'DIFFERS (documented)')")")
}

check_outcome ()
{
    local name="$1" who="$2" want="$3" got="$4" log="$5"
    case "$want:$got" in
        ok:"ok $ref"|ok:"ok -"|fail:fail) return 0 ;;
    esac
    echo "FAIL: $name: $who plugin: wanted $want, got $got; its output:" >&2
    cat "$log" >&2
    failures=$(( failures + 1 ))
}

base=(host=127.0.0.1 port="$SSHD_PORT" known-hosts="$kh")

# --- The man page's parameters.
compat "host port path known-hosts" ok ok "${base[@]}" path="$disk"
compat "path as the magic key" ok ok "${base[@]}" "$disk"
compat "user=root" ok ok "${base[@]}" user=root "$disk"
unset SSH_AUTH_SOCK
compat "identity=KEY, no agent" ok ok "${base[@]}" identity="$key" "$disk"
compat "identity= twice, the second works" ok ok "${base[@]}" \
    identity="$SSHD_DIR/no-such-key" identity="$key" "$disk"
compat "no agent, no identity: refused" fail fail "${base[@]}" \
    identity="$SSHD_DIR/no-such-key" "$disk"
compat "password=+FILE" ok ok "${base[@]}" user="$user" \
    password=+"$SSHD_DIR/pw" disk.img
compat "password=-FD, relative path" ok ok "${base[@]}" user="$user" \
    password=-7 disk.img
printf 'wrong' > badpw
compat "wrong password: refused" fail fail "${base[@]}" user="$user" \
    password=+"$SSHD_DIR/badpw" disk.img
export SSH_AUTH_SOCK="$agent"
compat "verify-remote-host=false, empty known-hosts" ok ok \
    host=127.0.0.1 port="$SSHD_PORT" known-hosts=/dev/null \
    verify-remote-host=false "$disk"
compat "verify-remote-host=true, empty known-hosts" fail fail \
    host=127.0.0.1 port="$SSHD_PORT" known-hosts=/dev/null \
    verify-remote-host=true "$disk"
compat "unknown host: refused" fail fail \
    host=127.0.0.1 port="$SSHD_PORT" known-hosts=/dev/null "$disk"
compat "timeout=30" ok ok "${base[@]}" timeout=30 "$disk"
compat "compression=true" ok ok "${base[@]}" compression=true "$disk"
compat "compression=false" ok ok "${base[@]}" compression=false "$disk"
compat "config= (none read)" ok ok "${base[@]}" config= "$disk"
compat "config=FILE, host= a Host alias" ok ok \
    host=myalias known-hosts="$kh" config="$SSHD_DIR/cfg-myalias" "$disk"
compat "config=FILE with %h" ok ok \
    host=myalias known-hosts="$kh" config="$SSHD_DIR/cfg-%h" "$disk"
compat "-r (read-only)" ok ok -r -U - -- "${base[@]}" "$disk"
compat "missing path=" fail fail "${base[@]}"
compat "missing host=" fail fail port="$SSHD_PORT" known-hosts="$kh" "$disk"
compat "remote file missing" fail fail "${base[@]}" "$SSHD_DIR/nope.img"
compat "nothing listening on port=" fail fail host=127.0.0.1 \
    port="$(free_port)" known-hosts="$kh" "$disk"
compat "unknown parameter" fail fail "${base[@]}" frobnicate=1 "$disk"

# create=, create-size=, create-mode=: write disk.img into a new file.
RUN="nbdcopy $SSHD_DIR/disk.img \"\$uri\""
compat "create=true create-size=4M create-mode=0644" ok ok \
    "${base[@]}" create=true create-size=4M create-mode=0644 \
    "$SSHD_DIR/new.img"
RUN=
[ "$(stat -c %a new.img)" = 644 ] || {
    echo "FAIL: create-mode=0644 made mode $(stat -c %a new.img)"; exit 1; }
cmp disk.img new.img
compat "create=true without create-size" fail fail \
    "${base[@]}" create=true "$SSHD_DIR/new2.img"

# --- %-sequences in known-hosts=, identity= and config=.
compat "known-hosts=kh-%h-%p-%r-%u" ok ok host=127.0.0.1 port="$SSHD_PORT" \
    known-hosts="$SSHD_DIR/kh-%h-%p-%r-%u" "$disk"
compat "known-hosts=kh-%%-x" ok ok host=127.0.0.1 port="$SSHD_PORT" \
    known-hosts="$SSHD_DIR/kh-%%-x" "$disk"
compat "known-hosts=%h after ssh_config HostName" ok ok host=myalias \
    config="$SSHD_DIR/cfg-myalias" \
    known-hosts="$SSHD_DIR/kh-%h-%p-%r-%u" "$disk"
unset SSH_AUTH_SOCK
compat "identity=id-%r" ok ok "${base[@]}" identity="$SSHD_DIR/id-%r" "$disk"
export SSH_AUTH_SOCK="$agent"
compat "config=sub/cfg-%r with user=" ok ok "${base[@]}" user=root \
    config="$SSHD_DIR/sub/cfg-%r" "$disk"
compat "unknown sequence %x: refused" fail fail host=127.0.0.1 \
    port="$SSHD_PORT" known-hosts="$SSHD_DIR/kh-%x" "$disk"
if [ -d "$pw_home/.ssh" ]; then
    # %d is ~/.ssh of the password database's home; reach our file
    # from there.
    up="$(echo "$pw_home/.ssh" | sed 's|[^/][^/]*|..|g')"
    compat "known-hosts=%d/..." ok ok host=127.0.0.1 port="$SSHD_PORT" \
        known-hosts="%d$up$SSHD_DIR/kh-%%-x" "$disk"
else
    # No ~/.ssh: %d/... cannot name an existing file for either.
    compat "known-hosts=%d/... (no ~/.ssh)" fail fail host=127.0.0.1 \
        port="$SSHD_PORT" known-hosts="%d/kh-compat-$$" "$disk"
fi
# Ours checks the message: it names the sequence.
run_plugin_fail err-seq.txt path="$disk" known-hosts="$SSHD_DIR/kh-%x" \
    --run 'nbdinfo "$uri"'
expect_grep err-seq.txt "known-hosts=$SSHD_DIR/kh-%x: unknown token %x" \
    "%d %u %l %h %r %p %%"

# --- libvirt's invocation (src/qemu/qemu_nbdkit.c): an agent in the
# environment, identity or password, verify-remote-host, known-hosts.
sock="$SSHD_DIR/libvirt.sock"
lv=(--unix "$sock" --foreground --readonly --filter readahead --)
compat "libvirt: identity, agent, known-hosts" ok ok "${lv[@]}" \
    host=127.0.0.1 port="$SSHD_PORT" path="$disk" identity="$key" \
    user=root known-hosts="$kh"
compat "libvirt: verify-remote-host=false" ok ok "${lv[@]}" \
    host=127.0.0.1 port="$SSHD_PORT" path="$disk" user=root \
    verify-remote-host=false known-hosts="$kh"
compat "libvirt: user, password=-FD" ok ok "${lv[@]}" \
    host=127.0.0.1 port="$SSHD_PORT" path=disk.img user="$user" \
    password=-7 known-hosts="$kh"

# --- Documented differences (see the man page).
# %l: libssh before 0.12 expands it to an empty string (a bug); ours
# to the host name, as documented by both plugins.
l_theirs=fail
if dpkg --compare-versions "${libssh_version:-0}" ge 0.12; then
    l_theirs=ok
fi
compat "known-hosts=kh-%l (local host name)" ok "$l_theirs" \
    host=127.0.0.1 port="$SSHD_PORT" known-hosts="$SSHD_DIR/kh-%l" "$disk"
# create-size without create=true: nbdkit's ignores it, ours refuses it.
compat "create-size without create=true" fail ok "${base[@]}" \
    create-size=4M "$disk"
# A parameter given twice: nbdkit's takes the last, ours refuses.
compat "verify-remote-host given twice" fail ok "${base[@]}" \
    verify-remote-host=false verify-remote-host=true "$disk"
# create-mode is octal for ours; nbdkit's reads 644 as decimal (> 0777).
RUN="nbdcopy $SSHD_DIR/disk.img \"\$uri\""
compat "create-mode=644 (no leading 0)" ok fail "${base[@]}" create=true \
    create-size=4M create-mode=644 "$SSHD_DIR/new3.img"
RUN=
# config=FILE that does not exist: nbdkit's ignores it, ours refuses.
compat "config=FILE missing" fail ok "${base[@]}" \
    config="$SSHD_DIR/no-such-config" "$disk"
# %r in config= without user=: libssh cannot expand it, ours uses the
# local user name (the default user=).
compat "config=sub/cfg-%r without user=" ok fail "${base[@]}" \
    config="$SSHD_DIR/sub/cfg-%r" "$disk"

set +x
peer_name="nothing else (nbdkit's plugin is not installed)"
[ -z "$PEER" ] || peer_name="nbdkit's libssh-based plugin (libssh $libssh_version)"
echo "===== $n command lines: ours against $peer_name ====="
printf '%s\n' "${report[@]}"
[ "$failures" -eq 0 ] || { echo "FAIL: $failures mismatches (see above)"; exit 1; }
