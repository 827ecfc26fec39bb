#!/usr/bin/python3
"""train_fashion.py — train the bundled Fashion-MNIST classifier and export it to ONNX.

    /usr/bin/python3 tools/fashion/train_fashion.py [--out models/fashion_cnn.onnx] [--epochs 5]

Needs Debian's python3-torch and python3-onnx, and the dataset-fashion-mnist
package. A small CNN (two conv+pool stages, two fully connected layers), seeded,
trained on the 60k training images with Adam; a few minutes on 2 CPU cores.
The ONNX file (opset 13, batch dimension symbolic "N", input [N,1,28,28],
output logits [N,10] without softmax) carries the preprocessing contract in
its metadata_props (see docs/metadata.md): nn.input.color GRAY,
nn.input.resize stretch, nn.input.mean/std of the training pixels, nn.labels.
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_data  # noqa: E402

MAX_BYTES = 2 * 1024 * 1024


class FashionCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def to_input(images):
    """uint8 [n,28,28] -> normalized float [n,1,28,28], exactly as nn preprocesses."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - fashion_data.MEAN) / fashion_data.STD


def evaluate(model, x, y):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            correct += (model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
    return correct / len(x)


def train(model, x, y, epochs, batch):
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * ((len(x) + batch - 1) // batch))
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        t0 = time.time()
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(x):.4f} ({time.time() - t0:.0f} s)", flush=True)


def export(model, path):
    model.eval()
    tmp = path + ".tmp"
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), tmp, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    m = onnx.load(tmp)
    os.remove(tmp)
    meta = {
        "nn.input.color": "GRAY",
        "nn.input.resize": "stretch",
        "nn.input.mean": f"{fashion_data.MEAN:.4f}",
        "nn.input.std": f"{fashion_data.STD:.4f}",
        "nn.labels": "\n".join(fashion_data.LABELS),
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    m.producer_name = "nn tools/fashion/train_fashion.py"
    m.doc_string = "Fashion-MNIST classifier (28x28 gray, 10 classes), trained by tools/fashion/train_fashion.py"
    onnx.checker.check_model(m)
    data = m.SerializeToString()
    if len(data) > MAX_BYTES:
        raise SystemExit(f"{path}: {len(data)} bytes is over the {MAX_BYTES}-byte budget")
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {path} ({len(data)} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="models/fashion_cnn.onnx")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(args.threads)
    xtr, ytr = fashion_data.load("train")
    xte, yte = fashion_data.load("t10k")
    x, y = to_input(xtr), torch.from_numpy(ytr.astype(np.int64))
    model = FashionCNN()
    train(model, x, y, args.epochs, args.batch)
    acc = evaluate(model, to_input(xte), torch.from_numpy(yte.astype(np.int64)))
    print(f"torch test accuracy: {acc:.4f}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    export(model, args.out)


if __name__ == "__main__":
    main()
