# nbdkit-ssh-plugin (libssh2)
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
"""A small SFTP version 3 server for the tests, run by the test sshd as
its sftp subsystem:

    start_sshd "Subsystem sftp /usr/bin/python3 $srcdir/fake-sftp-server.py MODEFILE"

It speaks SFTP v3 correctly on real files (INIT/VERSION with the
fsync@openssh.com, limits@openssh.com and fstatvfs@openssh.com
extensions, OPEN, CLOSE, READ, WRITE, FSTAT, LSTAT, STAT, FSETSTAT,
SETSTAT, OPENDIR, READDIR, EXTENDED limits/fsync/fstatvfs) unless
MODEFILE says otherwise.  MODEFILE holds one word, the fault mode, and
is read again before each request, so a test switches modes while a
connection is open.  A missing or empty MODEFILE is "normal".  Each
fault that fires is logged to MODEFILE.log ("fired MODE ...") so a
test can check that it was exercised.

Fault modes (see HACKING.md):

  normal            correct replies
  short-read        DATA of a third of the length asked (at least 1)
  long-data         DATA 100 bytes longer than asked
  unknown-id        a DATA reply to a request id never sent, then the
                    real reply
  huge-length       a reply whose length field is 0x7ffffff0
  huge-string       a DATA reply whose string length is 0xfffffff0
  short-packet      a reply packet of 3 bytes (no room for its id)
  truncated-exit    half of a DATA reply, then exit (as if killed in
                    the middle of a reply)
  truncated-stall   half of a DATA reply, then nothing (reads on)
  hang-read         READ is never answered (everything else is)
  slow              every reply one second late, one at a time
  eof-inside        READ at or past half the file: EOF (FSTAT still
                    says the whole size)
  write-fail        WRITE: STATUS failure "write failed"
  ctrl-status       OPEN, OPENDIR, READ and WRITE fail with a STATUS
                    message full of control characters
  hang-init         INIT is never answered
  version-garbage-N VERSION followed by N bytes of garbage (N = 4..7:
                    less than one whole extension pair)
  version-old       VERSION 2
  version-bad-next  VERSION, then in the same write a packet whose
                    length field is 0x7ffffff0
  version-many-ext  VERSION with 5000 extensions
  version-ctrl-ext  VERSION with an extension named with control
                    characters
  readdir-forever   READDIR never says EOF: 100 new names each time
  readdir-empty     READDIR never says EOF: empty NAME replies
  no-fsync          VERSION without fsync@openssh.com, and WRITE
                    fails as in write-fail
  stat-fail         STAT fails with "permission denied" (LSTAT, FSTAT
                    work)
  stat-dir          STAT says a directory of size 0 (FSTAT is right)
  swap-on-open      OPEN of PATH first replaces PATH by a symlink to
                    PATH.target (as an attacker racing LSTAT and OPEN
                    would), then opens it

The process ends when its input ends, or after MAX_LIFETIME seconds.
"""

import os
import signal
import stat
import struct
import sys
import time

MAX_LIFETIME = 600

SSH_FXP_INIT = 1
SSH_FXP_VERSION = 2
SSH_FXP_OPEN = 3
SSH_FXP_CLOSE = 4
SSH_FXP_READ = 5
SSH_FXP_WRITE = 6
SSH_FXP_LSTAT = 7
SSH_FXP_FSTAT = 8
SSH_FXP_SETSTAT = 9
SSH_FXP_FSETSTAT = 10
SSH_FXP_OPENDIR = 11
SSH_FXP_READDIR = 12
SSH_FXP_STAT = 17
SSH_FXP_STATUS = 101
SSH_FXP_HANDLE = 102
SSH_FXP_DATA = 103
SSH_FXP_NAME = 104
SSH_FXP_ATTRS = 105
SSH_FXP_EXTENDED = 200
SSH_FXP_EXTENDED_REPLY = 201

SSH_FX_OK = 0
SSH_FX_EOF = 1
SSH_FX_NO_SUCH_FILE = 2
SSH_FX_PERMISSION_DENIED = 3
SSH_FX_FAILURE = 4
SSH_FX_OP_UNSUPPORTED = 8

SSH_FXF_READ = 0x01
SSH_FXF_WRITE = 0x02
SSH_FXF_APPEND = 0x04
SSH_FXF_CREAT = 0x08
SSH_FXF_TRUNC = 0x10
SSH_FXF_EXCL = 0x20

ATTR_SIZE = 0x1
ATTR_UIDGID = 0x2
ATTR_PERMISSIONS = 0x4
ATTR_ACMODTIME = 0x8

CTRL_MESSAGE = b"evil\x1b[2J\x1b[31m red\r\nfake: line\x07\x00end\x7f"

modefile = sys.argv[1] if len(sys.argv) > 1 else None
inp = sys.stdin.buffer
out = sys.stdout.buffer


def mode():
    if modefile is None:
        return "normal"
    try:
        with open(modefile) as f:
            m = f.read().strip()
    except OSError:
        return "normal"
    return m or "normal"


def log(msg):
    if modefile is None:
        return
    with open(modefile + ".log", "a") as f:
        f.write("%d %s\n" % (os.getpid(), msg))


def fired(m, what=""):
    log("fired %s %s" % (m, what))


# ---- Encoding ----

def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def packet(ptype, body):
    return u32(len(body) + 1) + bytes([ptype]) + body


def attrs(st):
    return (u32(ATTR_SIZE | ATTR_UIDGID | ATTR_PERMISSIONS | ATTR_ACMODTIME)
            + u64(st.st_size) + u32(st.st_uid) + u32(st.st_gid)
            + u32(st.st_mode) + u32(int(st.st_atime) & 0xffffffff)
            + u32(int(st.st_mtime) & 0xffffffff))


def regular_attrs(size):
    return (u32(ATTR_SIZE | ATTR_PERMISSIONS) + u64(size)
            + u32(stat.S_IFREG | 0o644))


def send(data):
    if mode() == "slow":
        fired("slow")
        time.sleep(1)
    out.write(data)
    out.flush()


def status(rid, code, msg=b""):
    send(packet(SSH_FXP_STATUS, u32(rid) + u32(code) + string(msg)
                + string(b"en")))


def oserror(rid, e):
    import errno
    code = {errno.ENOENT: SSH_FX_NO_SUCH_FILE,
            errno.EACCES: SSH_FX_PERMISSION_DENIED,
            errno.EPERM: SSH_FX_PERMISSION_DENIED}.get(e.errno,
                                                       SSH_FX_FAILURE)
    status(rid, code, os.strerror(e.errno))


# ---- Decoding ----

def read_exact(n):
    b = b""
    while len(b) < n:
        chunk = inp.read(n - len(b))
        if not chunk:
            return None
        b += chunk
    return b


class Reader:
    def __init__(self, b):
        self.b = b
        self.pos = 0

    def u8(self):
        v = self.b[self.pos]
        self.pos += 1
        return v

    def u32(self):
        v, = struct.unpack_from(">I", self.b, self.pos)
        self.pos += 4
        return v

    def u64(self):
        v, = struct.unpack_from(">Q", self.b, self.pos)
        self.pos += 8
        return v

    def string(self):
        n = self.u32()
        v = self.b[self.pos:self.pos + n]
        self.pos += n
        return v

    def attrs(self):
        a = {}
        flags = self.u32()
        if flags & ATTR_SIZE:
            a["size"] = self.u64()
        if flags & ATTR_UIDGID:
            a["uid"], a["gid"] = self.u32(), self.u32()
        if flags & ATTR_PERMISSIONS:
            a["perm"] = self.u32()
        if flags & ATTR_ACMODTIME:
            a["atime"], a["mtime"] = self.u32(), self.u32()
        return a


# ---- The server ----

handles = {}            # name -> ("file", fd) or ("dir", [names], path)
next_handle = [0]
readdir_serial = [0]


def new_handle(v):
    next_handle[0] += 1
    h = b"h%d" % next_handle[0]
    handles[h] = v
    return h


def version():
    m = mode()
    exts = [(b"fsync@openssh.com", b"1"), (b"limits@openssh.com", b"1"),
            (b"fstatvfs@openssh.com", b"2")]
    ver = 3
    tail = b""
    if m == "hang-init":
        fired(m)
        drain()
    if m.startswith("version-garbage-"):
        # Fewer bytes than one extension pair (8): a name length that
        # points far outside the packet, and not enough bytes for it.
        n = int(m[len("version-garbage-"):])
        tail = (b"\xff\xff\xff\xf0\xaa\xbb\xcc")[:n]
        fired(m)
    elif m == "version-old":
        ver = 2
        fired(m)
    elif m == "version-many-ext":
        exts += [(b"x%d@example.com" % i, b"") for i in range(5000)]
        fired(m)
    elif m == "no-fsync":
        exts = exts[1:]
        fired(m, "VERSION")
    elif m == "version-ctrl-ext":
        exts.append((b"evil\x1b[31m@example.com", b"\x1b]0;title\x07"))
        fired(m)
    elif m == "version-bad-next":
        tail_packet = u32(0x7ffffff0) + bytes([SSH_FXP_STATUS])
        fired(m)
    body = u32(ver) + b"".join(string(n) + string(d) for n, d in exts)
    send(packet(SSH_FXP_VERSION, body + tail) +
         (tail_packet if m == "version-bad-next" else b""))


def do_open(rid, r, m):
    path = r.string()
    pflags = r.u32()
    a = r.attrs()
    if m == "ctrl-status":
        fired(m, "OPEN")
        return status(rid, SSH_FX_PERMISSION_DENIED, CTRL_MESSAGE)
    if m == "swap-on-open" and os.path.exists(path + b".target"):
        fired(m, "OPEN")
        os.replace(path, path + b".was")
        os.symlink(os.path.basename(path + b".target"), path)
    flags = 0
    if pflags & SSH_FXF_READ and pflags & SSH_FXF_WRITE:
        flags = os.O_RDWR
    elif pflags & SSH_FXF_WRITE:
        flags = os.O_WRONLY
    if pflags & SSH_FXF_CREAT:
        flags |= os.O_CREAT
    if pflags & SSH_FXF_TRUNC:
        flags |= os.O_TRUNC
    if pflags & SSH_FXF_EXCL:
        flags |= os.O_EXCL
    try:
        fd = os.open(path, flags, a.get("perm", 0o644) & 0o7777)
    except OSError as e:
        return oserror(rid, e)
    send(packet(SSH_FXP_HANDLE, u32(rid) + string(new_handle(("file", fd)))))


def do_read(rid, r, m):
    h = r.string()
    offset = r.u64()
    length = r.u32()
    fd = handles[h][1]
    if m == "ctrl-status":
        fired(m, "READ")
        return status(rid, SSH_FX_FAILURE, CTRL_MESSAGE)
    if m == "hang-read":
        fired(m, "READ id %d" % rid)
        return
    if m == "eof-inside" and offset >= os.fstat(fd).st_size // 2:
        fired(m, "READ at %d" % offset)
        return status(rid, SSH_FX_EOF, b"eof")
    data = os.pread(fd, length, offset)
    if not data:
        return status(rid, SSH_FX_EOF, b"eof")
    if m == "short-read":
        data = data[:max(1, len(data) // 3)]
        fired(m, "READ of %d at %d: %d bytes" % (length, offset, len(data)))
    elif m == "long-data":
        data = data + b"\x00" * 100
        fired(m)
    elif m == "unknown-id":
        send(packet(SSH_FXP_DATA, u32(rid ^ 0x5a5a0000) + string(data)))
        fired(m)
    elif m == "huge-length":
        send(u32(0x7ffffff0) + bytes([SSH_FXP_DATA]) + u32(rid)
             + string(data))
        fired(m)
        return
    elif m == "huge-string":
        send(packet(SSH_FXP_DATA, u32(rid) + u32(0xfffffff0) + data))
        fired(m)
        return
    elif m == "short-packet":
        send(u32(3) + bytes([SSH_FXP_DATA]) + b"\x00\x00")
        fired(m)
        return
    elif m in ("truncated-exit", "truncated-stall"):
        p = packet(SSH_FXP_DATA, u32(rid) + string(data))
        send(p[:len(p) // 2])
        fired(m)
        if m == "truncated-exit":
            os._exit(0)
        drain()
    send(packet(SSH_FXP_DATA, u32(rid) + string(data)))


def do_write(rid, r, m):
    h = r.string()
    offset = r.u64()
    data = r.string()
    if m in ("write-fail", "no-fsync"):
        fired(m, "WRITE at %d" % offset)
        return status(rid, SSH_FX_FAILURE, b"write failed")
    if m == "ctrl-status":
        fired(m, "WRITE")
        return status(rid, SSH_FX_FAILURE, CTRL_MESSAGE)
    os.pwrite(handles[h][1], data, offset)
    status(rid, SSH_FX_OK)


def do_readdir(rid, r, m):
    h = r.string()
    kind, names, path = handles[h]
    if m == "readdir-forever":
        ents = b""
        for _ in range(100):
            readdir_serial[0] += 1
            n = b"f%08d.img" % readdir_serial[0]
            ents += string(n) + string(n) + regular_attrs(1048576)
        if readdir_serial[0] % 10000 == 0:
            fired(m, "%d names" % readdir_serial[0])
        return send(packet(SSH_FXP_NAME, u32(rid) + u32(100) + ents))
    if m == "readdir-empty":
        readdir_serial[0] += 1
        if readdir_serial[0] % 1000 == 0:
            fired(m, "%d replies" % readdir_serial[0])
        return send(packet(SSH_FXP_NAME, u32(rid) + u32(0)))
    if not names:
        return status(rid, SSH_FX_EOF, b"eof")
    batch, handles[h] = names[:50], (kind, names[50:], path)
    ents, count = b"", 0
    for n in batch:
        try:
            st = os.lstat(os.path.join(path, n))
        except OSError:
            continue
        ents += string(n) + string(n) + attrs(st)
        count += 1
    send(packet(SSH_FXP_NAME, u32(rid) + u32(count) + ents))


def do_extended(rid, r, m):
    name = r.string()
    if name == b"limits@openssh.com":
        return send(packet(SSH_FXP_EXTENDED_REPLY, u32(rid)
                           + u64(256 * 1024 + 1024) + u64(65536)
                           + u64(65536) + u64(0)))
    if name == b"fsync@openssh.com":
        os.fsync(handles[r.string()][1])
        return status(rid, SSH_FX_OK)
    if name == b"fstatvfs@openssh.com":
        st = os.fstatvfs(handles[r.string()][1])
        return send(packet(SSH_FXP_EXTENDED_REPLY, u32(rid)
                           + b"".join(u64(v) for v in (
                               st.f_bsize, st.f_frsize, st.f_blocks,
                               st.f_bfree, st.f_bavail, st.f_files,
                               st.f_ffree, st.f_favail, 0, 0,
                               st.f_namemax))))
    status(rid, SSH_FX_OP_UNSUPPORTED, b"unsupported")


def handle_request(ptype, body):
    m = mode()
    r = Reader(body)
    rid = r.u32()
    try:
        if ptype == SSH_FXP_OPEN:
            return do_open(rid, r, m)
        if ptype == SSH_FXP_CLOSE:
            v = handles.pop(r.string(), None)
            if v and v[0] == "file":
                os.close(v[1])
            return status(rid, SSH_FX_OK)
        if ptype == SSH_FXP_READ:
            return do_read(rid, r, m)
        if ptype == SSH_FXP_WRITE:
            return do_write(rid, r, m)
        if ptype in (SSH_FXP_LSTAT, SSH_FXP_STAT):
            path = r.string()
            if ptype == SSH_FXP_STAT and m == "stat-fail":
                fired(m, "STAT")
                return status(rid, SSH_FX_PERMISSION_DENIED, b"denied")
            if ptype == SSH_FXP_STAT and m == "stat-dir":
                fired(m, "STAT")
                return send(packet(SSH_FXP_ATTRS, u32(rid) + u32(
                    ATTR_SIZE | ATTR_PERMISSIONS) + u64(0) + u32(0o40755)))
            st = os.lstat(path) if ptype == SSH_FXP_LSTAT else os.stat(path)
            return send(packet(SSH_FXP_ATTRS, u32(rid) + attrs(st)))
        if ptype == SSH_FXP_FSTAT:
            st = os.fstat(handles[r.string()][1])
            return send(packet(SSH_FXP_ATTRS, u32(rid) + attrs(st)))
        if ptype in (SSH_FXP_SETSTAT, SSH_FXP_FSETSTAT):
            what = r.string()
            a = r.attrs()
            target = handles[what][1] if ptype == SSH_FXP_FSETSTAT else what
            if "size" in a:
                os.truncate(target, a["size"])
            if "perm" in a:
                os.chmod(target, a["perm"] & 0o7777)
            return status(rid, SSH_FX_OK)
        if ptype == SSH_FXP_OPENDIR:
            path = r.string()
            if m == "ctrl-status":
                fired(m, "OPENDIR")
                return status(rid, SSH_FX_PERMISSION_DENIED, CTRL_MESSAGE)
            names = [] if m.startswith("readdir-") else sorted(
                os.listdir(path))
            return send(packet(SSH_FXP_HANDLE, u32(rid) + string(
                new_handle(("dir", names, path)))))
        if ptype == SSH_FXP_READDIR:
            return do_readdir(rid, r, m)
        if ptype == SSH_FXP_EXTENDED:
            return do_extended(rid, r, m)
    except OSError as e:
        return oserror(rid, e)
    except KeyError:
        return status(rid, SSH_FX_FAILURE, b"bad handle")
    status(rid, SSH_FX_OP_UNSUPPORTED, b"unsupported")


def drain():
    """Read requests and answer none, until the input ends."""
    while inp.read(65536):
        pass
    sys.exit(0)


def main():
    signal.alarm(MAX_LIFETIME)
    while True:
        hdr = read_exact(4)
        if hdr is None:
            return
        length, = struct.unpack(">I", hdr)
        body = read_exact(length)
        if body is None or length < 1:
            return
        ptype = body[0]
        if ptype == SSH_FXP_INIT:
            version()
        else:
            handle_request(ptype, body[1:])


if __name__ == "__main__":
    main()
