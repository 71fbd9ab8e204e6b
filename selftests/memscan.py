#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# memscan.py PID NEEDLE: how many times NEEDLE (bytes of its UTF-8) is in
# the readable memory of PID (/proc/PID/mem over /proc/PID/maps), one
# number on stdout; "# ..." lines on stderr name the mappings it was in.
# Root reads a non-dumpable process's memory with CAP_SYS_PTRACE.
import sys

pid, needle = sys.argv[1], sys.argv[2].encode()
hits = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        f = line.split()
        perms, name = f[1], (f[5] if len(f) > 5 else "[anon]")
        if "r" not in perms or name in ("[vvar]", "[vvar_vclock]", "[vsyscall]"):
            continue
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        try:
            mem.seek(lo)
            data = mem.read(hi - lo)
        except OSError:
            continue
        n = data.count(needle)
        if n:
            print(f"# {n} in {f[0]} {perms} {name}", file=sys.stderr)
            hits += n
print(hits)
