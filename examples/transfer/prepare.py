#!/usr/bin/python3
"""prepare.py — the transfer-learning example's inputs (see README.md).

    /usr/bin/python3 examples/transfer/prepare.py [--out examples/transfer/work] [--epochs 3]

Writes into --out:
  pretrained.onnx   a small CNN (conv-BN-ReLU-pool x2, FC 64, FC 5) trained by
                    PyTorch on Fashion-MNIST classes 0-4 (all 30,000 training
                    images of those classes), with nn's preprocessing metadata
  scratch.onnx      the same network freshly initialised (seeded), untrained
  train/<class>/    50 training images (PNG) of each of classes 5-9 (seeded pick)
  test/<class>/     every test image of classes 5-9 (1,000 each)
Needs python3-torch, python3-onnx, python3-pil and dataset-fashion-mnist.
"""
import argparse
import os
import shutil
import sys
import time

import numpy as np
import onnx
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "fashion"))
import fashion_data  # noqa: E402

OLD = [0, 1, 2, 3, 4]
NEW = [5, 6, 7, 8, 9]
PER_CLASS = 50


class SmallCNN(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


def to_input(images):
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return (x - fashion_data.MEAN) / fashion_data.STD


def export(model, path, labels):
    model.eval()
    tmp = path + ".tmp"
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), tmp, opset_version=13, do_constant_folding=True,
                      training=torch.onnx.TrainingMode.PRESERVE, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}})
    m = onnx.load(tmp)
    os.remove(tmp)
    meta = {"nn.input.color": "GRAY", "nn.input.resize": "stretch", "nn.input.mean": f"{fashion_data.MEAN:.4f}",
            "nn.input.std": f"{fashion_data.STD:.4f}", "nn.labels": "\n".join(labels)}
    del m.metadata_props[:]
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    m.producer_name = "nn examples/transfer/prepare.py"
    onnx.checker.check_model(m)
    onnx.save(m, path)
    print(f"wrote {path} ({', '.join(sorted({n.op_type for n in m.graph.node}))})")


def write_images(root, images, labels, classes):
    shutil.rmtree(root, ignore_errors=True)
    for c in classes:
        os.makedirs(os.path.join(root, fashion_data.folder_name(fashion_data.LABELS[c])))
    for i, (im, c) in enumerate(zip(images, labels)):
        name = os.path.join(root, fashion_data.folder_name(fashion_data.LABELS[c]), f"{i:05d}.png")
        Image.fromarray(im, mode="L").save(name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "work"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    xtr, ytr = fashion_data.load("train")
    xte, yte = fashion_data.load("t10k")

    # pretrain on the old classes
    keep = np.isin(ytr, OLD)
    x, y = to_input(xtr[keep]), torch.from_numpy(ytr[keep].astype(np.int64))
    model = SmallCNN(len(OLD))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total, t0 = 0.0, time.time()
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        print(f"pretraining epoch {epoch + 1}/{a.epochs}: loss {total / len(x):.4f} ({time.time() - t0:.0f} s)")
    model.eval()
    keep_te = np.isin(yte, OLD)
    with torch.no_grad():
        acc = (model(to_input(xte[keep_te])).argmax(1).numpy() == yte[keep_te]).mean()
    print(f"pretrained accuracy on the test images of classes 0-4: {acc:.4f}")
    export(model, os.path.join(a.out, "pretrained.onnx"), [fashion_data.LABELS[c] for c in OLD])
    torch.manual_seed(1)
    export(SmallCNN(len(NEW)), os.path.join(a.out, "scratch.onnx"), [fashion_data.LABELS[c] for c in NEW])

    # the new task: 50 training images per new class, every test image of the new classes
    rng = np.random.default_rng(0)
    pick = np.concatenate([rng.choice(np.flatnonzero(ytr == c), PER_CLASS, replace=False) for c in NEW])
    write_images(os.path.join(a.out, "train"), xtr[pick], ytr[pick], NEW)
    keep_te = np.isin(yte, NEW)
    write_images(os.path.join(a.out, "test"), xte[keep_te], yte[keep_te], NEW)
    print(f"wrote {len(pick)} training and {keep_te.sum()} test images of classes 5-9 under {a.out}")


if __name__ == "__main__":
    main()
