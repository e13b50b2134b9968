#!/usr/bin/env python3
"""A fresh process's open+load of a libbpf object, two userbpf builds and the
kernel side by side: N rounds, each running bench/libbpf_one_load once with
build A's libuserbpf-preload.so, once with build B's and once on the kernel
(skipped with --no-kernel), in turn; prints the medians and the ratios.

  bench/ab_oneshot.py BUILD_A BUILD_B OBJECT.bpf.o [N] [--no-kernel] [--whole]

--whole: the whole process instead, phase by phase (exec to main, open+load,
close, exit; libbpf_one_load --processes 1 for each run).

BUILD_A and BUILD_B are build directories (holding libuserbpf-preload.so);
the libbpf_one_load of BUILD_B is used for every side. For one build against
the kernel, pass it twice.
"""
import os
import statistics
import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if a not in ("--no-kernel", "--whole")]
    whole = "--whole" in sys.argv
    if len(args) < 3:
        sys.exit(__doc__)
    a, b, obj = args[:3]
    rounds = int(args[3]) if len(args) > 3 else 30
    tool = os.path.join(b, "bench", "libbpf_one_load")
    sides = {"A": os.path.join(a, "libuserbpf-preload.so"), "B": os.path.join(b, "libuserbpf-preload.so")}
    if "--no-kernel" not in sys.argv:
        sides["kernel"] = None
    times = {k: [] for k in sides}
    phases = {k: {} for k in sides}
    for _ in range(rounds):
        for side, lib in sides.items():
            env = dict(os.environ, USERBPF_MEMLOCK_LIMIT="unlimited")
            if lib:
                env["LD_PRELOAD"] = lib
            cmd = [tool, "--processes", "1", obj] if whole else [tool, obj]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env)
            if out.returncode != 0:
                sys.exit(f"{side}: the load failed: {out.stderr.strip()}")
            if whole:  # "exec->main 1041  open+load 629 ... total 2018 us (medians of 1)"
                words = out.stdout.split()
                for name, value in zip(words[0:10:2], words[1:10:2]):
                    phases[side].setdefault(name, []).append(float(value))
                times[side].append(phases[side]["total"][-1])
            else:
                times[side].append(float(out.stdout))
    med = {k: statistics.median(v) for k, v in times.items()}
    for side, m in med.items():
        detail = "".join(f"  {n} {statistics.median(v):.0f}" for n, v in phases[side].items() if n != "total")
        print(f"{side:7s} {m:9.1f} us{detail}")
    print(f"B/A {med['B'] / med['A']:.2f}", end="")
    if "kernel" in med:
        print(f"   A/kernel {med['A'] / med['kernel']:.2f}   B/kernel {med['B'] / med['kernel']:.2f}", end="")
    print()


if __name__ == "__main__":
    main()
