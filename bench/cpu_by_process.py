#!/usr/bin/env python3
"""CPU seconds used by the processes of a network namespace, by kind.

  cpu_by_process.py snap NETNS FILE    record utime+stime of every process in NETNS
  cpu_by_process.py diff FILE1 FILE2   print the CPU used between two snapshots,
                                       per kind (glusterfsd as brick:VOLUME)

The benchmarks print it beside their ratios so that a figure says where the
time went (which brick, georepd, the receiver, sshd), not only how long.
"""
import os, sys, subprocess, json
def classify(pid):
    try:
        exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
        cmd = open(f"/proc/{pid}/cmdline","rb").read().split(b"\0")
    except OSError:
        return None
    cmd = [c.decode(errors="replace") for c in cmd]
    if exe == "glusterfsd":
        for i,c in enumerate(cmd):
            if c == "--volfile-id" and i+1 < len(cmd): return "brick:" + cmd[i+1].split(".")[0]
        return "brick"
    return exe
def snap(ns):
    pids = subprocess.run(["ip","netns","pids",ns],capture_output=True,text=True).stdout.split()
    out = {}
    tck = os.sysconf("SC_CLK_TCK")
    for p in pids:
        c = classify(p)
        if c is None: continue
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")",1)[1].split()
        except OSError: continue
        out[p] = [c, (int(f[11])+int(f[12]))/tck]
    return out
if sys.argv[1] == "snap":
    json.dump(snap(sys.argv[2]), open(sys.argv[3],"w"))
else:
    a = json.load(open(sys.argv[2])); b = json.load(open(sys.argv[3]))
    agg = {}
    for p,(c,t) in b.items():
        agg[c] = agg.get(c,0) + t - (a.get(p,[c,0])[1])
    tot = sum(agg.values())
    for c,t in sorted(agg.items(), key=lambda x:-x[1]):
        if t >= 0.05: print("  cpu %-28s %7.2f s" % (c,t))
    print("  cpu %-28s %7.2f s" % ("total", tot))
