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


def unit_of(case):
    for r in raw:
        if r["case"] == case and r["unit"]:
            return r["unit"]
    return "MiB/s"


def size_of(rtt):
    for r in raw:
        if r["rtt"] == rtt and r["mib"]:
            return r["mib"]
    return ""


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

# Table 1: throughput / IOPS with ratios.
head1 = ["case", "RTT ms", "MiB", "unit", "ours", "nbdkit-ssh", "ssh cat",
         "sftp get", "ours/nbdkit-ssh", "ours/ssh cat", "ours/sftp get"]
rows1 = []
incomplete = []
for rtt in rtts:
    for case, label, stream in LABELS:
        ours, _, _ = med(rtt, case, "ours")
        peer, _, _ = med(rtt, case, "nbdkit-ssh")
        cat = sftp = None
        if stream:
            cat, _, _ = med(rtt, stream, "ssh-cat")
            sftp, _, _ = med(rtt, stream, "sftp-get")
        if ours is None and peer is None:
            continue
        for who in ("ours", "nbdkit-ssh"):
            _, ok, n = med(rtt, case, who)
            if n and ok < n:
                incomplete.append("%s at RTT %s: %s failed in %d of %d runs"
                                  % (label, rtt, who, n - ok, n))
        unit = unit_of(case)
        digits = 3 if unit == "s" else None
        rows1.append([label, rtt, size_of(rtt) if unit == "MiB/s" else "",
                      unit, fmt(ours, digits), fmt(peer, digits), fmt(cat),
                      fmt(sftp), ratio(ours, peer), ratio(ours, cat),
                      ratio(ours, sftp)])

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
head3 = ["RTT", "case", "contender", "rep", "value", "unit", "secs",
         "RSS KiB", "sessions", "server B/B", "p50 us"]
rows3 = [[r["rtt"], r["case"], r["contender"], r["rep"], r["value"], r["unit"],
          r["secs"], r["rss_kib"], r["sessions"], r["amp"], r["p50_us"]]
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
    "MiB/s = file size / wall time of the whole client command (SSH "
    "connection set-up included); medians over the repetitions.",
    "ssh cat / sftp get columns: one OpenSSH stream "
    "(`ssh cat FILE`, `sftp get`; writes: `ssh 'cat > FILE'`), "
    "shown next to both the 1-connection and the multi-conn rows.",
    "RTT > 0 goes through bench/delay-proxy (RTT/2 each way, "
    "bandwidth not limited); RTT 0 connects straight to sshd.",
    "server B/B = bytes sftp-server read (rchar, file + request "
    "packets) per byte the client asked for, random-read cases.",
    "RSS = nbdkit's VmHWM at the end of the run.",
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
    "(zlib, both plugins take the parameter), at one RTT (COMP_RTT).",
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
txt.append("Throughput and IOPS (median):")
txt.append(text_table(head1, rows1))
md.append(md_table(head1, rows1))
txt.append("")
md.append("")
txt.append("Resources (median):")
txt.append(text_table(head2, rows2))
md.append(md_table(head2, rows2))
txt.append("")
md.append("")
if rows_rt:
    txt.append("Connection set-up in round trips (median s / RTT):")
    md.append("Connection set-up in round trips (median s / RTT):")
    md.append("")
    txt.append(text_table(head_rt, rows_rt))
    md.append(md_table(head_rt, rows_rt))
    txt.append("")
    md.append("")
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
