#!/usr/bin/env python3
"""Reads a HotSpot -XX:+LogCompilation file and reports, for the last C2 compilation of every method of the CPU
kernels (dev.tav4j.kernels.cpu), the IR nodes its parse reached, the calls of ours that C2 cut off at
NodeCountInliningCutoff (18,000 nodes), and the Vector API methods it inlined late (past the cutoff: without
exact types, which is how vectors end up boxed, docs/performance.md). Exits 1 when any kernel has a Vector API
method inlined late. Usage: jit-check.py LOGFILE [-v]   (-v: every compiled kernel method, not only the suspect)."""
import collections, re, sys

PKG = "dev.tav4j.kernels.cpu"


def main(path, verbose):
    last, cur = {}, None
    for line in open(path, errors="replace"):
        if line.startswith("<task "):
            m = re.search(r"method='([^']*)'", line)
            osr = re.search(r"osr_bci='(\d+)'", line)
            cur = {"method": m.group(1) if m else "?", "osr": osr.group(1) if osr else None,
                   "c2": "level=" not in line,  # C2 tasks carry no tier level in the log
                   "kl": {}, "me": {}, "late": collections.Counter(), "cut": collections.Counter(), "nodes": 0,
                   "call": "?"}
            continue
        if cur is None:
            continue
        if line.startswith("<klass "):
            m = re.match(r"<klass id='(\d+)' name='([^']*)'", line)
            cur["kl"][m.group(1)] = m.group(2)
        elif line.startswith("<method "):
            m = re.match(r"<method id='(\d+)' holder='(\d+)' name='([^']*)'", line)
            full = cur["kl"].get(m.group(2), "?")
            cur["me"][m.group(1)] = (full.startswith("jdk.incubator.vector"), full.split(".")[-1] + "::" + m.group(3))
        elif line.startswith("<call "):
            cur["call"] = cur["me"].get(re.search(r"method='(\d+)'", line).group(1), (False, "?"))[1]
        elif line.startswith("<inline_fail ") and "NodeCountInliningCutoff" in line:
            cur["cut"][cur["call"]] += 1
        elif line.startswith("<late_inline "):
            vector, name = cur["me"].get(re.search(r"method='(\d+)'", line).group(1), (False, "?"))
            if vector:
                cur["late"][name] += 1
        elif line.startswith("<parse_done "):
            m = re.search(r"nodes='(\d+)'", line)
            if m:
                cur["nodes"] = max(cur["nodes"], int(m.group(1)))
        elif line.startswith("</task>"):
            if cur["c2"] and cur["method"].startswith(PKG):
                last[(cur["method"], cur["osr"])] = cur
            cur = None
    bad = 0
    for (method, osr), t in sorted(last.items(), key=lambda kv: -kv[1]["nodes"]):
        late = sum(t["late"].values())
        bad += 1 if late else 0
        if late or t["cut"] or verbose:
            parts = method.split(" ")
            name = parts[0].split(".")[-1] + "::" + parts[1] + (f" OSR@{osr}" if osr else "")
            flag = "LATE" if late else ("cut " if t["cut"] else "ok  ")
            print(f"{flag} {t['nodes']:6d} nodes  {name:50s} late: {dict(t['late'].most_common(3))}  "
                  f"cut: {dict(t['cut'].most_common(3))}")
    print(f"{len(last)} C2-compiled kernel methods; {bad} with Vector API methods inlined late")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], "-v" in sys.argv[2:]))
