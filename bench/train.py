#!/usr/bin/python3
"""Training benchmarks (ratios, never timed tests):

  bench/train.py MODEL [--build build] [--batch 8] [--threads 0] [--samples 64] [--epochs 10] [--steps 3]
                 [--torch NAME] [--rounds 2]

builds bench/train_bench.c against the build's libnn and runs
  - step:  one nn_train_step fine-tuning the whole network vs with a frozen
           backbone (only the classifier trained): median times, their ratio,
           and the gradient buffers each keeps;
  - cache: `epochs` epochs of head-only training over `samples` fixed samples
           with the frozen-prefix cache vs one inference pass over them
           (acceptance: <= 1.5x), and vs training without the cache.
  - torch (with --torch NAME, the torchvision name of the same architecture):
           nn's step and PyTorch 1.13's (bench/train_torch.py) alternating
           for --rounds rounds in the same run, each side's best median, and
           the ratios nn/PyTorch for the full and the frozen-backbone step.
Use a model with a symbolic batch dimension (e.g. the zoo's resnet50).
"""
import re
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--batch", default="8")
    ap.add_argument("--threads", default="0")
    ap.add_argument("--samples", default="64")
    ap.add_argument("--epochs", default="10")
    ap.add_argument("--steps", default="3")
    ap.add_argument("--modes", default="step,cache")
    ap.add_argument("--torch", default="")
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    lib = os.path.join(a.build, "lib")
    exe = os.path.join(a.build, "train_bench")
    subprocess.run(["cc", "-O2", "-std=c11", "-I" + os.path.join(ROOT, "include"), os.path.join(HERE, "train_bench.c"),
                    "-L" + lib, "-lnn", "-Wl,-rpath," + lib, "-lm", "-o", exe], check=True)
    if a.torch:
        return versus_torch(exe, a)
    for mode in a.modes.split(","):
        args = [exe, a.model, mode, "--batch", a.batch, "--threads", a.threads]
        if mode == "step":
            args += ["--steps", a.steps]
        else:
            args += ["--samples", a.samples, "--epochs", a.epochs]
        print("## %s" % mode, flush=True)
        p = subprocess.run(args, text=True, capture_output=True)
        sys.stdout.write(p.stdout)
        if p.returncode:
            sys.stderr.write(p.stderr)
            return p.returncode
    return 0


def values(text):
    return {k: float(v) for k, v in re.findall(r"^(\w+): ([-\d.]+)$", text, re.M)}


def versus_torch(exe, a):
    """nn and PyTorch alternating; each side keeps its best median."""
    threads = a.threads if a.threads != "0" else str(os.cpu_count() or 1)
    best = {}
    for r in range(a.rounds):
        nn = subprocess.run([exe, a.model, "step", "--batch", a.batch, "--threads", threads, "--steps", a.steps],
                            text=True, capture_output=True)
        th = subprocess.run([sys.executable, os.path.join(HERE, "train_torch.py"), a.torch, "--batch", a.batch,
                             "--threads", threads, "--steps", a.steps], text=True, capture_output=True)
        for p in (nn, th):
            if p.returncode:
                sys.stderr.write(p.stderr)
                return p.returncode
        for k, v in list(values(nn.stdout).items()) + list(values(th.stdout).items()):
            if k.endswith("_ms"):
                best[k] = min(v, best.get(k, v))
        print("round %d: nn full %.0f ms, frozen %.0f ms; torch full %.0f ms, frozen %.0f ms" %
              (r + 1, best["full_step_ms"], best["frozen_step_ms"], best["torch_full_step_ms"],
               best["torch_frozen_step_ms"]), flush=True)
    print("model: %s (torch: %s)\nbatch: %s\nthreads: %s" % (a.model, a.torch, a.batch, threads))
    for k in ("full_step_ms", "frozen_step_ms", "torch_full_step_ms", "torch_frozen_step_ms"):
        print("%s: %.1f" % (k, best[k]))
    print("nn_over_torch_full: %.2f" % (best["full_step_ms"] / best["torch_full_step_ms"]))
    print("nn_over_torch_frozen: %.2f" % (best["frozen_step_ms"] / best["torch_frozen_step_ms"]))
    print("nn_full_over_frozen: %.2f" % (best["full_step_ms"] / best["frozen_step_ms"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
