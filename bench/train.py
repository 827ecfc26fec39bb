#!/usr/bin/python3
"""Training benchmarks (ratios, never timed tests):

  bench/train.py MODEL [--build build] [--batch 8] [--threads 0] [--samples 64] [--epochs 10] [--steps 3]

builds bench/train_bench.c against the build's libnn and runs
  - step:  one nn_train_step fine-tuning the whole network vs with a frozen
           backbone (only the classifier trained): median times, their ratio,
           and the gradient buffers each keeps;
  - cache: `epochs` epochs of head-only training over `samples` fixed samples
           with the frozen-prefix cache vs one inference pass over them
           (acceptance: <= 1.5x), and vs training without the cache.
Use a model with a symbolic batch dimension (e.g. the zoo's resnet50).
"""
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
    a = ap.parse_args()
    lib = os.path.join(a.build, "lib")
    exe = os.path.join(a.build, "train_bench")
    subprocess.run(["cc", "-O2", "-std=c11", "-I" + os.path.join(ROOT, "include"), os.path.join(HERE, "train_bench.c"),
                    "-L" + lib, "-lnn", "-Wl,-rpath," + lib, "-lm", "-o", exe], check=True)
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


if __name__ == "__main__":
    sys.exit(main())
