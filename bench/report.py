#!/usr/bin/python3
# Turns bench.sh's per-run results into the tables (text and Markdown).
# Copyright (C) 2026 The nbdkit-ssh-plugin (libssh2) authors
# SPDX-License-Identifier: BSD-3-Clause
#
#   report.py META RAW.tsv OUT.txt OUT.md MULTI_CONN

import csv
import statistics
import sys

meta_file, raw_file, txt_file, md_file, multi = sys.argv[1:6]

with open(meta_file) as f:
    meta = [line.rstrip("\n") for line in f if line.strip()]
with open(raw_file) as f:
    raw = list(csv.DictReader(f, delimiter="\t"))

rtts = []
for r in raw:
    if r["rtt"] not in rtts:
        rtts.append(r["rtt"])


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def runs(rtt, case, who):
    return [r for r in raw
            if r["rtt"] == rtt and r["case"] == case and r["contender"] == who]


def med(rtt, case, who, field="value"):
    rs = runs(rtt, case, who)
    if not rs:
        return None, 0, 0
    vals = [num(r[field]) for r in rs]
    vals = [v for v in vals if v is not None]
    if not vals:
        return "fail", 0, len(rs)
    return statistics.median(vals), len(vals), len(rs)


def fmt(v, digits=None):
    if v is None:
        return ""
    if v == "fail":
        return "fail"
    if digits is None:
        digits = 0 if v >= 1000 else (1 if v >= 10 else 2)
    return "%.*f" % (digits, v)


def ratio(a, b):
    if not isinstance(a, float) or not isinstance(b, float) or b == 0:
        return ""
    return "%.2fx" % (a / b)


def cpu(rtt, case, who):
    """Median CPU ms per MiB (None if not recorded: older raw files)."""
    if not any(r.get("cpu_ms_mib") for r in runs(rtt, case, who)):
        return None
    return med(rtt, case, who, "cpu_ms_mib")[0]


def unit_of(case):
    for r in raw:
        if r["case"] == case and r["unit"]:
            return r["unit"]
    return "MiB/s"


def size_of(rtt, case=None):
    for r in raw:
        if r["rtt"] == rtt and r["mib"] and case in (None, r["case"]):
            return r["mib"]
    return ""


def ran(case, who):
    return any(r["case"] == case and r["contender"] == who for r in raw)


def multi_label(case):
    if multi != "default":
        return "%s conns" % multi
    # How many SSH sessions nbdcopy's default opened (ours, else the peer).
    for who in ("ours", "nbdkit-ssh"):
        for rtt in rtts:
            v, _, _ = med(rtt, case, who, "sessions")
            if isinstance(v, float):
                return "nbdcopy default (%d conns)" % v
    return "nbdcopy default"


LABELS = [
    ("seq-read-1", "seq read, 1 conn", "seq-read-stream"),
    ("seq-read-N", "seq read, " + multi_label("seq-read-N"), "seq-read-stream"),
    ("seq-write-1", "seq write, 1 conn", "seq-write-stream"),
    ("seq-write-N", "seq write, " + multi_label("seq-write-N"), "seq-write-stream"),
    ("rand-qd1", "rand 4K read, QD1", None),
    ("rand-4x4", "rand 4K read, 4 conns x QD4", None),
    ("rand-write-qd1", "rand 4K write, QD1", None),
    ("connect-first", "connect: 1st nbdinfo --size", None),
    ("connect-second", "connect: 2nd, same nbdkit", None),
    ("write4", "seq write, 4 conns x 1/4 file", "seq-write-stream"),
    ("comp-zeros-false", "read zeros, compression=false", None),
    ("comp-zeros-true", "read zeros, compression=true", None),
    ("comp-rand-false", "read random, compression=false", None),
    ("comp-rand-true", "read random, compression=true", None),
]

def note_failures(rtt, case, label, whos):
    for who in whos:
        _, ok, n = med(rtt, case, who)
        line = ("%s at RTT %s: %s failed in %d of %d runs"
                % (label, rtt, who, n - ok, n))
        if n and ok < n and line not in incomplete:
            incomplete.append(line)


incomplete = []

# Sequential tables, one per case (direction, connections): rows = RTT;
# every contender's MiB/s and CPU ms/MiB, ours divided by ssh cat (same
# direction, same RTT: the anchor) and by each other contender.
SEQ = [case for case in LABELS if case[0].startswith("seq-")]
seq_tables = []
for case, label, stream in SEQ:
    if not any(r["case"] == case for r in raw):
        continue
    others = [("ssh cat", stream, "ssh-cat"),
              ("nbdkit-ssh", case, "nbdkit-ssh"),
              ("sftp get", stream, "sftp-get")]
    others = [o for o in others if ran(o[1], o[2])]
    head = ["RTT ms", "MiB", "ours MiB/s", "ours CPU ms/MiB"]
    for name, _, _ in others:
        head += ["%s MiB/s" % name, "%s CPU ms/MiB" % name, "ours/%s" % name]
    rows = []
    for rtt in rtts:
        ours = med(rtt, case, "ours")[0]
        if ours is None and not any(runs(rtt, c, w) for _, c, w in others):
            continue
        note_failures(rtt, case, label, ("ours", "nbdkit-ssh"))
        note_failures(rtt, stream, label.split(",")[0], ("ssh-cat", "sftp-get"))
        row = [rtt, size_of(rtt, case) or size_of(rtt, stream),
               fmt(ours), fmt(cpu(rtt, case, "ours"))]
        for _, c, w in others:
            v = med(rtt, c, w)[0]
            row += [fmt(v), fmt(cpu(rtt, c, w)), ratio(ours, v)]
        rows.append(row)
    if rows:
        seq_tables.append((label, head, rows))

# Compressed reads (comp): ours and nbdkit-ssh, over the same file size
# as the seq-read rows of that RTT, so ssh cat (download) is the anchor.
head_comp = ["RTT ms", "MiB", "data", "compression", "ours MiB/s",
             "ours CPU ms/MiB", "nbdkit-ssh MiB/s", "nbdkit-ssh CPU ms/MiB",
             "ours/nbdkit-ssh", "ssh cat MiB/s", "ours/ssh cat"]
rows_comp = []
for rtt in rtts:
    for case, label, _ in LABELS:
        if not case.startswith("comp-"):
            continue
        ours = med(rtt, case, "ours")[0]
        peer = med(rtt, case, "nbdkit-ssh")[0]
        if ours is None and peer is None:
            continue
        note_failures(rtt, case, label, ("ours", "nbdkit-ssh"))
        cat = med(rtt, "seq-read-stream", "ssh-cat")[0]
        if size_of(rtt, "seq-read-stream") not in ("", size_of(rtt, case)):
            cat = None
        _, data, comp = case.split("-")
        rows_comp.append([rtt, size_of(rtt, case),
                          "zeros" if data == "zeros" else "random", comp,
                          fmt(ours), fmt(cpu(rtt, case, "ours")), fmt(peer),
                          fmt(cpu(rtt, case, "nbdkit-ssh")), ratio(ours, peer),
                          fmt(cat), ratio(ours, cat)])

# The other cases: random I/O, connect, write4, against nbdkit-ssh.
head1 = ["case", "RTT ms", "MiB", "unit", "ours", "ours CPU ms/MiB",
         "nbdkit-ssh", "nbdkit-ssh CPU ms/MiB", "ours/nbdkit-ssh"]
rows1 = []
for rtt in rtts:
    for case, label, _ in LABELS:
        if case.startswith("seq-") or case.startswith("comp-"):
            continue
        ours, _, _ = med(rtt, case, "ours")
        peer, _, _ = med(rtt, case, "nbdkit-ssh")
        if ours is None and peer is None:
            continue
        note_failures(rtt, case, label, ("ours", "nbdkit-ssh"))
        unit = unit_of(case)
        digits = 3 if unit == "s" else None
        rows1.append([label, rtt, size_of(rtt, case) if unit == "MiB/s" else "",
                      unit, fmt(ours, digits), fmt(cpu(rtt, case, "ours")),
                      fmt(peer, digits), fmt(cpu(rtt, case, "nbdkit-ssh")),
                      ratio(ours, peer)])

# Connection set-up in round trips (RTT > 0).
head_rt = ["case", "RTT ms", "ours s", "ours RTs", "ours RTs net",
           "nbdkit-ssh s", "nbdkit-ssh RTs", "nbdkit-ssh RTs net",
           "ours/nbdkit-ssh"]
rows_rt = []
for rtt in rtts:
    if num(rtt) is None or num(rtt) <= 0:
        continue
    for case, label, _ in LABELS:
        if not case.startswith("connect-"):
            continue
        ours, _, _ = med(rtt, case, "ours")
        peer, _, _ = med(rtt, case, "nbdkit-ssh")
        if ours is None and peer is None:
            continue
        row = [label, rtt]
        for who, v in (("ours", ours), ("nbdkit-ssh", peer)):
            row.append(fmt(v, 3))
            ok = isinstance(v, float)
            row.append(fmt(v * 1000 / float(rtt), 1) if ok else "")
            # Net: less the same case at RTT 0 (the CPU part), if run.
            v0 = med("0", case, who)[0] if "0" in rtts else None
            row.append(fmt((v - v0) * 1000 / float(rtt), 1)
                       if ok and isinstance(v0, float) else "")
        row.append(ratio(ours, peer))
        rows_rt.append(row)

# Table 2: resources.
head2 = ["case", "RTT ms", "RSS MiB ours", "RSS MiB nbdkit-ssh",
         "server B/B ours", "server B/B nbdkit-ssh",
         "p50 us ours", "p50 us nbdkit-ssh", "sessions ours", "sessions nbdkit-ssh"]
rows2 = []
for rtt in rtts:
    for case, label, _ in LABELS:
        row = [label, rtt]
        have = False
        for field, scale, digits in (("rss_kib", 1024.0, 1), ("amp", 1.0, 3),
                                     ("p50_us", 1.0, 0), ("sessions", 1.0, 0)):
            for who in ("ours", "nbdkit-ssh"):
                v, _, _ = med(rtt, case, who, field)
                if isinstance(v, float):
                    have = True
                    row.append(fmt(v / scale, digits))
                else:
                    row.append("")
        if have:
            rows2.append(row)

# Per-run results (text only).
head3 = ["RTT", "case", "contender", "rep", "value", "unit", "MiB", "secs",
         "CPU s", "CPU ms/MiB", "RSS KiB", "sessions", "server B/B", "p50 us"]
rows3 = [[r["rtt"], r["case"], r["contender"], r["rep"], r["value"], r["unit"],
          r["mib"], r["secs"], r.get("cpu_s", ""), r.get("cpu_ms_mib", ""),
          r["rss_kib"], r["sessions"], r["amp"], r["p50_us"]]
         for r in raw]


def text_table(head, rows):
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    out = ["  ".join(str(x).ljust(w[i]) if i == 0 else str(x).rjust(w[i])
                     for i, x in enumerate(line)) for line in [head] + rows]
    out.insert(1, "  ".join("-" * n for n in w))
    return "\n".join(out)


def md_table(head, rows):
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join("---" if i == 0 else "---:"
                          for i in range(len(head))) + "|"]
    out += ["| " + " | ".join(str(x) for x in r) + " |" for r in rows]
    return "\n".join(out)


NOTES = [
    "Medians over the repetitions. Sequential tables (seq read, seq write, "
    "read zeros / random): MiB/s = file size / wall time of the whole "
    "command a user runs, for the plugins `nbdkit -U - [-r] PLUGIN ... "
    "--run 'nbdcopy ...'` from nbdkit's start to its exit (SSH set-up, "
    "nbdcopy, nbdkit's shutdown; writes are `nbdcopy --flush`, so the data "
    "is on the server's disk before the clock stops), for ssh cat and "
    "sftp get the OpenSSH client process.",
    "ssh cat: `ssh ... cat FILE > /dev/null` (read), `ssh ... 'cat > FILE "
    "&& sync FILE' < FILE` (write: fsynced on the server, as durable as "
    "the plugins' flush); sftp get: `sftp ... FILE /dev/null`.",
    "ours/X = ours MiB/s / X's MiB/s (or IOPS, or seconds for connect) at "
    "the same RTT in the same run: above 1 = ours faster (connect: below "
    "1 = ours faster). In the sequential tables ssh cat in the same "
    "direction is the yardstick.",
    "CPU ms/MiB = CPU time (user + system) per MiB moved: for the plugins "
    "the serving nbdkit process's own (all its threads, read from /proc "
    "when the client is done; nbdcopy's not counted), for ssh cat and sftp "
    "get the client's (ssh; sftp with the ssh it runs). sshd's and "
    "sftp-server's are in none.",
    "RTT > 0 goes through bench/delay-proxy (RTT/2 each way, "
    "bandwidth not limited); RTT 0 connects straight to sshd.",
    "server B/B = bytes sftp-server read (rchar, file + request "
    "packets) per byte the client asked for, random-read cases.",
    "RSS = the serving nbdkit's VmHWM when the client is done.",
    "Multi-conn rows appear only where the file is at least 256 MiB: "
    "nbdcopy hands out work in 128 MiB slices, so below that one "
    "connection does all of it.",
    "Random reads: 4 KiB at random 4 KiB-aligned offsets over the whole "
    "file; p50 = median latency of one read.",
    "rand 4K write, QD1: one synchronous 4 KiB pwrite at a time at random "
    "4 KiB-aligned offsets for RAND_SECS; IOPS and p50 count the writes "
    "only; a flush follows, outside the timing; server B/B for it = "
    "bytes sftp-server wrote (wchar: file + replies) per byte written.",
    "connect: nbdinfo --size against a freshly started nbdkit (1st), then "
    "again right away against the same nbdkit (2nd; ours with idle-keep= "
    "when the plugin has it, see above); seconds per nbdinfo process, "
    "lower is better (so ours/nbdkit-ssh < 1 is ours faster); RSS and "
    "sessions are those of the whole run (both nbdinfo).",
    "Connection set-up in round trips: RTs = median seconds / RTT; "
    "RTs net = (median seconds - median seconds of the same case at "
    "RTT 0) / RTT, i.e. without the CPU time, when RTT 0 was run.",
    "seq write, 4 conns x 1/4 file (write4): 4 libnbd connections each "
    "writing their quarter sequentially (256 KiB requests, 4 in flight), "
    "then a flush on each; MiB/s over the writes and flushes (connecting "
    "not included). The issue's goal: RSS <= 128 MiB at 50 ms.",
    "read zeros / read random: nbdcopy --connections=1 of a file of zeros "
    "or of random data, with compression=false and compression=true "
    "(zlib, both plugins take the parameter), at one RTT (COMP_RTT); "
    "ssh cat there is the download of the random file (no compression).",
]

txt = []
md = []
txt.append("nbdkit ssh plugin (libssh2) benchmark")
md.append("### Benchmark (`make bench`)")
md.append("")
for line in meta:
    txt.append(line)
    md.append("- " + line)
txt.append("")
md.append("")


def table(title, head, rows):
    if not rows:
        return
    txt.append(title + ":")
    txt.append(text_table(head, rows))
    txt.append("")
    md.append("**" + title + "**")
    md.append("")
    md.append(md_table(head, rows))
    md.append("")


for label, head, rows in seq_tables:
    table("%s, whole command (median)" % label, head, rows)
table("Compressed reads, whole command (median)", head_comp, rows_comp)
table("Random I/O, connect, write4 (median)", head1, rows1)
table("Resources (median)", head2, rows2)
table("Connection set-up in round trips (median s / RTT)", head_rt, rows_rt)
for n in NOTES + incomplete:
    txt.append("- " + n.replace("`", ""))
    md.append("- " + n)

with open(md_file, "w") as f:
    f.write("\n".join(md) + "\n")

txt.append("")
txt.append("Per-run results:")
txt.append(text_table(head3, rows3))
with open(txt_file, "w") as f:
    f.write("\n".join(txt) + "\n")
