#!/usr/bin/python3
"""PyTorch's side of the training-step benchmark (bench/train.py --torch NAME):
one SGD step (momentum 0.9, lr 1e-4, cross-entropy), batch B at 224x224,
on torchvision's NAME with seeded weights, BatchNorm frozen (eval-mode
statistics, affine parameters trained) as nn's default trainer does.
Prints `torch_full_step_ms: X` and `torch_frozen_step_ms: X` (only the last
Linear layer trained), each the median of --steps steps after one warm-up.

  bench/train_torch.py NAME [--batch 8] [--steps 3] [--threads 2]
"""
import argparse
import time

import torch
import torchvision


def median_step_ms(model, params, x, y, steps):
    opt = torch.optim.SGD(params, lr=1e-4, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    step()  # warm-up
    ms = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        ms.append((time.perf_counter() - t) * 1000.0)
    return sorted(ms)[len(ms) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = getattr(torchvision.models, a.name)(weights=None)
    model.train()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()  # frozen statistics, as nn's NN_BN_FROZEN default
    x = torch.randn(a.batch, 3, 224, 224)
    y = torch.randint(0, 1000, (a.batch,))
    full = median_step_ms(model, list(model.parameters()), x, y, a.steps)
    head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    for p in model.parameters():
        p.requires_grad_(False)
    for p in head.parameters():
        p.requires_grad_(True)
    frozen = median_step_ms(model, list(head.parameters()), x, y, a.steps)
    print("torch_model: %s\ntorch_threads: %d\ntorch_full_step_ms: %.1f\ntorch_frozen_step_ms: %.1f"
          % (a.name, a.threads, full, frozen))


if __name__ == "__main__":
    main()
