#!/usr/bin/python3
"""Side-by-side benchmark: nn vs ONNX Runtime (onnxruntime-node, CPU) on the
zoo models, in the same run, alternating, with the ratios nn/ORT.

  bench/run.py ZOO_DIR [--models a,b] [--threads 1,2] [--batch 1,8] [--repeat 20] [--rounds 3]

For every (model, threads, batch) it alternates `nn-tool bench` and
`bench/ort_bench.js` `--rounds` times and keeps each side's best median
(the least disturbed by other load on a shared machine), and the median of
the rounds' paired ratios (nn's median over the ORT median measured right
after it): on a shared VM whose speed swings by 2x for minutes at a time, a
pair seconds apart sees the same machine, while the best medians of the two
sides may come from different minutes. It also runs
bench/peak.c once for the FP32 FMA peak and reports each model's attained
GFLOP/s against it. Output: a Markdown table on stdout.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse(out):
    vals = {}
    for line in out.splitlines():
        m = re.match(r"^(\w+): ([-\d.]+)$", line.strip())
        if m:
            vals[m.group(1)] = float(m.group(2))
    return vals


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        return None, p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "failed"
    return parse(p.stdout), None


def peak(build_dir):
    exe = os.path.join(build_dir, "peak")
    if not os.path.exists(exe):
        subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "peak.c")], check=True)
    vals, _ = run([exe])
    return vals or {}


def macs_of(tool, model):
    p = subprocess.run([tool, "info", model], capture_output=True, text=True)
    m = re.search(r"multiply-adds: (\d+)", p.stdout)
    return int(m.group(1)) if m else 0


def raise_priority():
    """Linux groups processes by session (autogroup) and shares the CPU fairly
    between groups, so `nice` on other jobs does not keep them off the cores
    the benchmark needs. Raising this session's group (root only) does; nn and
    ORT, both children of this process, get the same priority."""
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write("-20")
        return "raised (autogroup nice -20)"
    except OSError:
        return "unchanged"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zoo")
    ap.add_argument("--models", default="")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--batch", default="1")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tool", default=os.path.join(ROOT, "build", "release", "tools", "nn-tool", "nn-tool"))
    args = ap.parse_args()
    print("scheduling priority: %s" % raise_priority())
    models = [m for m in args.models.split(",") if m] or sorted(
        d for d in os.listdir(args.zoo) if os.path.exists(os.path.join(args.zoo, d, "model.onnx")))
    env = dict(os.environ)
    env.setdefault("ORT_NODE_DIR", os.path.join(ROOT, "build", "ort"))
    pk = peak(os.path.dirname(args.tool))
    peak1 = pk.get("peak_gflops_avx512") or pk.get("peak_gflops_avx2") or 0
    print(f"FP32 FMA peak (1 core): {peak1:.1f} GFLOP/s (avx512 {pk.get('peak_gflops_avx512', 0):.1f}, "
          f"avx2 {pk.get('peak_gflops_avx2', 0):.1f})\n")
    print("| model | threads | batch | nn ms | ORT ms | nn/ORT | nn/ORT paired | nn GFLOP/s | % of peak | nn load ms "
          "| ORT load ms | nn peak RSS MB | ORT peak RSS MB (minus node) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for model in models:
        path = os.path.join(args.zoo, model, "model.onnx")
        macs = macs_of(args.tool, path)
        for threads in [int(t) for t in args.threads.split(",")]:
            for batch in [int(b) for b in args.batch.split(",")]:
                best = {"nn": None, "ort": None}
                err = None
                pairs = []
                for _ in range(args.rounds):
                    got = {}
                    common = [path, "--threads", str(threads), "--batch", str(batch), "--repeat", str(args.repeat)]
                    for side, cmd in (("nn", [args.tool, "bench"] + common),
                                      ("ort", ["node", os.path.join(HERE, "ort_bench.js")] + common)):
                        vals, e = run(cmd, env)
                        if vals is None:
                            err = f"{side}: {e}"
                            continue
                        got[side] = vals["median_ms"]
                        if best[side] is None or vals["median_ms"] < best[side]["median_ms"]:
                            best[side] = vals
                    if "nn" in got and "ort" in got:
                        pairs.append(got["nn"] / got["ort"])
                        print(f"{model} t{threads} b{batch}: nn {got['nn']:.2f} ms, ORT {got['ort']:.2f} ms", file=sys.stderr)
                if best["nn"] is None or best["ort"] is None:
                    print(f"| {model} | {threads} | {batch} | – | – | – | – | | | | | | {err} |")
                    sys.stdout.flush()
                    continue
                n, o = best["nn"], best["ort"]
                gf = 2.0 * macs * batch / (n["median_ms"] * 1e6) if macs else 0
                pct = 100.0 * gf / (peak1 * threads) if peak1 else 0
                pairs.sort()
                paired = (pairs[(len(pairs) - 1) // 2] + pairs[len(pairs) // 2]) / 2
                print(f"| {model} | {threads} | {batch} | {n['median_ms']:.2f} | {o['median_ms']:.2f} | "
                      f"{n['median_ms'] / o['median_ms']:.2f} | {paired:.2f} | {gf:.1f} | {pct:.0f}% | {n['load_ms']:.0f} | "
                      f"{o['load_ms']:.0f} | {n['peak_rss_mb']:.0f} | {o['peak_rss_mb'] - o.get('base_rss_mb', 0):.0f} |")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
