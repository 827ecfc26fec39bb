#!/usr/bin/env python3
"""Train the bundled detector: a small YOLOv3-style network (one head, stride 8,
3 anchors) that finds the ten Fashion-MNIST item kinds in synthetic scenes
(tools/detect/scenes.py), exported to ONNX with nn's detection metadata:
nn.detect.family yolov3, nn.detect.anchors (input pixels), nn.detect.masks,
nn.detect.classes, nn.labels, nn.input.resize letterbox (docs/detection.md).

usage: train_detector.py [--out models/fashion_detector.onnx] [--scenes N] [--epochs E] [--seed S]
Deterministic for a given seed on one machine (torch CPU, one thread pool).
Writes sample held-out scenes beside the model (models/detector_samples/).
"""
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenes  # noqa: E402

STRIDE = 8
GRID = scenes.SIZE // STRIDE
NC = len(scenes.LABELS)
NA = 3


def block(ci, co, stride):
    return nn.Sequential(nn.Conv2d(ci, co, 3, stride, 1, bias=False), nn.BatchNorm2d(co), nn.LeakyReLU(0.1))


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(block(3, 16, 2), block(16, 32, 2), block(32, 48, 2), block(48, 48, 1),
                                  block(48, 64, 1), block(64, 64, 1), block(64, 64, 1))
        self.head = nn.Conv2d(64, NA * (5 + NC), 1)

    def forward(self, x):
        return self.head(self.body(x))


def kmeans_anchors(wh, k, rng):
    """k anchors (w, h) by k-means with 1 - IoU as the distance, sorted by area."""
    centres = wh[rng.choice(len(wh), k, replace=False)]
    for _ in range(50):
        inter = np.minimum(wh[:, None, 0], centres[None, :, 0]) * np.minimum(wh[:, None, 1], centres[None, :, 1])
        iou = inter / (wh[:, None].prod(-1) + centres[None].prod(-1) - inter)
        assign = iou.argmax(1)
        centres = np.array([wh[assign == j].mean(0) if (assign == j).any() else centres[j] for j in range(k)])
    return centres[np.argsort(centres.prod(1))]


def build_targets(boxes_batch, anchors):
    """Per image: objectness target/mask, box targets, class targets on the grid."""
    B = len(boxes_batch)
    obj = np.zeros((B, NA, GRID, GRID), np.float32)
    txy = np.zeros((B, NA, 2, GRID, GRID), np.float32)
    twh = np.zeros((B, NA, 2, GRID, GRID), np.float32)
    cls = np.zeros((B, NA, NC, GRID, GRID), np.float32)
    scale = np.zeros((B, NA, GRID, GRID), np.float32)
    for b, boxes in enumerate(boxes_batch):
        for c, x0, y0, x1, y1 in boxes:
            w, h = x1 - x0, y1 - y0
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            gx, gy = min(int(cx / STRIDE), GRID - 1), min(int(cy / STRIDE), GRID - 1)
            inter = np.minimum(w, anchors[:, 0]) * np.minimum(h, anchors[:, 1])
            a = int(np.argmax(inter / (w * h + anchors.prod(1) - inter)))
            obj[b, a, gy, gx] = 1
            txy[b, a, :, gy, gx] = (cx / STRIDE - gx, cy / STRIDE - gy)
            twh[b, a, :, gy, gx] = (np.log(w / anchors[a, 0]), np.log(h / anchors[a, 1]))
            cls[b, a, c, gy, gx] = 1
            scale[b, a, gy, gx] = 2 - w * h / scenes.SIZE ** 2
    return [torch.from_numpy(t) for t in (obj, txy, twh, cls, scale)]


def loss_fn(out, targets):
    obj, txy, twh, cls, scale = targets
    B = out.shape[0]
    p = out.view(B, NA, 5 + NC, GRID, GRID)
    bce = nn.functional.binary_cross_entropy_with_logits
    pos = obj > 0
    l_obj = bce(p[:, :, 4], obj, reduction="none")
    l_obj = (l_obj * torch.where(pos, 1.0, 0.5)).sum()
    if pos.any():
        m = pos.unsqueeze(2)
        s = scale.unsqueeze(2)
        l_xy = (bce(p[:, :, 0:2], txy, reduction="none") * s)[m.expand_as(txy)].sum()
        l_wh = (((p[:, :, 2:4] - twh) ** 2) * s)[m.expand_as(twh)].sum()
        l_cls = bce(p[:, :, 5:], cls, reduction="none")[m.expand_as(cls)].sum()
    else:
        l_xy = l_wh = l_cls = out.sum() * 0
    return (l_obj + 2 * l_xy + 2 * l_wh + l_cls) / B


def export(model, anchors, out):
    model.eval()
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 3, scenes.SIZE, scenes.SIZE), out, opset_version=13,
                      input_names=["images"], output_names=["head"])
    import onnx
    m = onnx.load(out)
    meta = {
        "nn.detect.family": "yolov3",
        "nn.detect.anchors": ",".join(f"{v:.2f}" for v in anchors.reshape(-1)),
        "nn.detect.masks": "0,1,2",
        "nn.detect.classes": str(NC),
        "nn.labels": "\n".join(scenes.LABELS),
        "nn.input.color": "RGB",
        "nn.input.resize": "letterbox",
    }
    for k, v in meta.items():
        m.metadata_props.add(key=k, value=v)
    m.doc_string = "Fashion-MNIST item detector trained by tools/detect/train_detector.py on synthetic scenes"
    onnx.save(m, out)
    print(f"wrote {out} ({os.path.getsize(out) / 1e6:.2f} MB)")
    model.train()


def main():
    ap = argparse.ArgumentParser()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    ap.add_argument("--out", default=os.path.join(root, "models", "fashion_detector.onnx"))
    ap.add_argument("--scenes", type=int, default=8000)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    rng = np.random.default_rng(args.seed)

    t0 = time.time()
    images, labels = scenes.fashion_data.load("train")
    data = [scenes.make_scene(rng, images, labels) for _ in range(args.scenes)]
    print(f"{args.scenes} training scenes in {time.time() - t0:.0f} s", flush=True)
    wh = np.array([(x1 - x0, y1 - y0) for _, bs in data for _, x0, y0, x1, y1 in bs], np.float64)
    anchors = kmeans_anchors(wh, NA, rng)
    print("anchors", np.round(anchors, 1).tolist(), flush=True)

    model = Detector()
    steps_per_epoch = args.scenes // 32
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.epochs * steps_per_epoch)
    X = np.stack([d[0] for d in data])
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(args.scenes)
        total = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * 32:(s + 1) * 32]
            x = X[idx].astype(np.float32) / 255.0
            boxes = [data[i][1] for i in idx]
            flip = rng.uniform(size=len(idx)) < 0.5
            x[flip] = x[flip, :, ::-1]
            boxes = [[(c, scenes.SIZE - x1, y0, scenes.SIZE - x0, y1) for c, x0, y0, x1, y1 in bs] if f else bs
                     for bs, f in zip(boxes, flip)]
            xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
            loss = loss_fn(model(xt), build_targets(boxes, anchors))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / steps_per_epoch:.3f} ({time.time() - t0:.0f} s)",
              flush=True)
        export(model, anchors, args.out)  # usable after every epoch

    export(model, anchors, args.out)
    samples = os.path.join(os.path.dirname(args.out), "detector_samples")
    scenes.write_split(samples, 4, seed=777)
    print(f"wrote sample held-out scenes to {samples}")


if __name__ == "__main__":
    main()
