#!/usr/bin/env python3
"""Train the bundled detector: a small YOLOv3-style network (one head at stride
8 with 3 anchors, fed by a stride-16 context branch that is upsampled and
concatenated, as in yolov3-tiny) that finds the ten Fashion-MNIST item kinds in
synthetic scenes (tools/detect/scenes.py), exported to ONNX with nn's detection
metadata: nn.detect.family yolov3, nn.detect.anchors (input pixels),
nn.detect.masks, nn.detect.classes, nn.labels, nn.input.resize letterbox
(docs/detection.md).

usage: train_detector.py [--out models/fashion_detector.onnx] [--scenes N] [--epochs E]
                         [--seed S] [--threads T]
Every epoch trains on N freshly generated scenes of the dataset's training
items (so the network never sees the same scene twice), then prints the loss
and the mAP@0.5 that the exported model's decoding (nn's yolov3 rule, per-class
NMS at IoU 0.45) reaches on 200 validation scenes of test-set items.
Deterministic for a given seed and thread count on one machine.
Writes sample held-out scenes beside the model (models/detector_samples/).
"""
import argparse
import copy
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
BATCH = 32
IGNORE_IOU = 0.5   # a negative whose predicted box already overlaps an item this much is not penalised
VAL_SEED = 4242    # validation scenes; eval_bundled.sh measures on seed 12345


def block(ci, co, stride=1, k=3):
    return nn.Sequential(nn.Conv2d(ci, co, k, stride, k // 2, bias=False), nn.BatchNorm2d(co), nn.LeakyReLU(0.1))


class Detector(nn.Module):
    """stride-8 features + a stride-16 branch (receptive field well beyond the
    60-pixel items, cheap at 8x8) upsampled and concatenated before the head."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(block(3, 16, 2), block(16, 32, 2), block(32, 64, 2), block(64, 64))
        self.context = nn.Sequential(block(64, 128, 2), block(128, 128), block(128, 128), block(128, 64, k=1),
                                     nn.Upsample(scale_factor=2, mode="nearest"))
        self.neck = block(128, 96)
        self.head = nn.Conv2d(96, NA * (5 + NC), 1)

    def forward(self, x):
        f = self.body(x)
        return self.head(self.neck(torch.cat([self.context(f), f], 1)))


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
    """Per image: objectness target, box targets, class targets on the grid
    (each item on the cell holding its centre, with the anchor of best shape
    IoU), and the items' corners and classes padded to 4 per image."""
    B = len(boxes_batch)
    obj = np.zeros((B, NA, GRID, GRID), np.float32)
    txy = np.zeros((B, NA, 2, GRID, GRID), np.float32)
    twh = np.zeros((B, NA, 2, GRID, GRID), np.float32)
    cls = np.zeros((B, NA, NC, GRID, GRID), np.float32)
    scale = np.zeros((B, NA, GRID, GRID), np.float32)
    gt = np.zeros((B, 4, 4), np.float32)
    gt_cls = np.zeros((B, 4), np.int64)
    for b, boxes in enumerate(boxes_batch):
        for i, (c, x0, y0, x1, y1) in enumerate(boxes):
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
            gt[b, i] = (x0, y0, x1, y1)
            gt_cls[b, i] = c
    return [torch.from_numpy(t) for t in (obj, txy, twh, cls, scale, gt, gt_cls)]


def decode(p, anchors):
    """Predicted corners [B, NA, GRID, GRID, 4] in input pixels (nn's yolov3 rule)."""
    gy, gx = torch.meshgrid(torch.arange(GRID), torch.arange(GRID), indexing="ij")
    an = torch.as_tensor(anchors, dtype=torch.float32).view(1, NA, 2, 1, 1)
    cx = (gx + torch.sigmoid(p[:, :, 0])) * STRIDE
    cy = (gy + torch.sigmoid(p[:, :, 1])) * STRIDE
    wh = torch.exp(p[:, :, 2:4].clamp(max=6)) * an
    return torch.stack([cx - wh[:, :, 0] / 2, cy - wh[:, :, 1] / 2, cx + wh[:, :, 0] / 2, cy + wh[:, :, 1] / 2], -1)


def box_iou(a, b):
    """IoU of corners a [..., N, 4] with b [..., M, 4] -> [..., N, M]."""
    lt = torch.maximum(a[..., :, None, :2], b[..., None, :, :2])
    rb = torch.minimum(a[..., :, None, 2:], b[..., None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a[..., :, None] + area_b[..., None, :] - inter + 1e-9)


def loss_fn(out, targets, anchors):
    obj, txy, twh, cls, scale, gt, gt_cls = targets
    B = out.shape[0]
    p = out.view(B, NA, 5 + NC, GRID, GRID)
    bce = nn.functional.binary_cross_entropy_with_logits
    pos = obj > 0
    with torch.no_grad():
        # YOLOv3's ignore rule: a cell/anchor that is not responsible for an item
        # but predicts one well would otherwise be pushed towards background,
        # which fights the positive next to it; padding boxes (all zero) never match
        best, which = box_iou(decode(p, anchors).view(B, -1, 4), gt).max(-1)
        best, which = best.view(B, NA, GRID, GRID), which.view(B, NA, GRID, GRID)
        near = (best > IGNORE_IOU) & ~pos
        weight = torch.where(pos, 1.0, torch.where(near, 0.0, 0.5))
        # those near misses still score classes at inference (each class is
        # NMS-ed on its own), so they learn the item's class too: a wrong label
        # there is a confident false positive; it also gives the classifier
        # several views of every item instead of one
        near_cls = nn.functional.one_hot(torch.gather(gt_cls, 1, which.view(B, -1)).view(B, NA, GRID, GRID), NC)
        cls = torch.where(near.unsqueeze(2), near_cls.permute(0, 1, 4, 2, 3).float(), cls)
        labelled = (pos | near).unsqueeze(2)
    l_obj = (bce(p[:, :, 4], obj, reduction="none") * weight).sum()
    m = pos.unsqueeze(2)
    s = scale.unsqueeze(2)
    l_xy = (bce(p[:, :, 0:2], txy, reduction="none") * s)[m.expand_as(txy)].sum()
    l_wh = (((p[:, :, 2:4] - twh) ** 2) * s)[m.expand_as(twh)].sum()
    l_cls = bce(p[:, :, 5:], cls, reduction="none")[labelled.expand_as(cls)].sum()
    return (l_obj + 2 * l_xy + 2 * l_wh + l_cls) / B


def make_batch(rng, images, labels, n):
    """n fresh training scenes, half of them mirrored."""
    data = [scenes.make_scene(rng, images, labels) for _ in range(n)]
    x = np.stack([d[0] for d in data])
    boxes = [d[1] for d in data]
    flip = rng.uniform(size=n) < 0.5
    x[flip] = x[flip, :, ::-1]
    boxes = [[(c, scenes.SIZE - x1, y0, scenes.SIZE - x0, y1) for c, x0, y0, x1, y1 in bs] if f else bs
             for bs, f in zip(boxes, flip)]
    return x, boxes


def to_tensor(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)).astype(np.float32) / 255.0)


def nms(boxes, scores, iou):
    keep = []
    order = np.argsort(-scores, kind="stable")
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.clip(rb - lt, 0, None).prod(-1)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        order = rest[inter / (area(boxes[i]) + area(boxes[rest]) - inter) <= iou]
    return keep


def voc_ap(dets, gts, c):
    """VOC all-point AP of class c; dets [(image, score, corners)], gts {image: [(class, corners)]}."""
    n_gt = sum(1 for g in gts.values() for k, _ in g if k == c)
    if not n_gt:
        return None
    mine = {i: np.array([b for k, b in g if k == c], np.float64).reshape(-1, 4) for i, g in gts.items()}
    taken = {i: np.zeros(len(b), bool) for i, b in mine.items()}
    tp = []
    for img, _, box in sorted(dets, key=lambda d: -d[1]):
        g = mine[img]
        lt = np.maximum(g[:, :2], box[:2])
        rb = np.minimum(g[:, 2:], box[2:])
        inter = np.clip(rb - lt, 0, None).prod(-1)
        iou = inter / ((g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1]) + (box[2] - box[0]) * (box[3] - box[1]) - inter)
        j = int(np.argmax(iou)) if len(g) else -1
        hit = j >= 0 and iou[j] >= 0.5 and not taken[img][j]
        if hit:
            taken[img][j] = True
        tp.append(hit)
    tp = np.array(tp, bool)
    rec = np.cumsum(tp) / n_gt
    prec = np.cumsum(tp) / np.arange(1, len(tp) + 1)
    prec = np.maximum.accumulate(prec[::-1])[::-1]
    return float(np.sum(np.diff(np.concatenate([[0], rec])) * prec))


def evaluate(model, anchors, x, boxes, conf=0.005):
    """(mAP@0.5, class-blind AP@0.5) of the model on scenes x with items boxes,
    decoded as nn does: a class is kept when objectness and objectness·σ(class)
    pass conf; NMS per class. Class-blind AP tells localisation from labelling."""
    model.eval()
    with torch.no_grad():
        p = torch.cat([model(to_tensor(x[i:i + 50])) for i in range(0, len(x), 50)])
    p = p.view(len(x), NA, 5 + NC, GRID, GRID)
    corners = decode(p, anchors).reshape(len(x), -1, 4).numpy()
    objness = torch.sigmoid(p[:, :, 4]).reshape(len(x), -1).numpy()
    probs = (torch.sigmoid(p[:, :, 4:5]) * torch.sigmoid(p[:, :, 5:])).permute(0, 1, 3, 4, 2)
    probs = probs.reshape(len(x), -1, NC).numpy()
    dets = {c: [] for c in range(NC)}
    blind = []
    gts = {i: [(b[0], list(b[1:])) for b in bs] for i, bs in enumerate(boxes)}
    for i in range(len(x)):
        live = objness[i] > conf
        for c in range(NC):
            sel = np.nonzero(live & (probs[i, :, c] > conf))[0]
            sel = sel[np.argsort(-probs[i, sel, c])[:100]]
            for k in (sel[nms(corners[i, sel], probs[i, sel, c], 0.45)] if len(sel) else []):
                dets[c].append((i, probs[i, k, c], corners[i, k]))
        sel = np.nonzero(live)[0]
        sel = sel[np.argsort(-objness[i, sel])[:100]]
        for k in (sel[nms(corners[i, sel], objness[i, sel], 0.45)] if len(sel) else []):
            blind.append((i, objness[i, k], corners[i, k]))
    aps = [voc_ap(dets[c], gts, c) for c in range(NC)]
    aps = [a for a in aps if a is not None]
    blind_gts = {i: [(0, b) for _, b in g] for i, g in gts.items()}
    return float(np.mean(aps)), voc_ap(blind, blind_gts, 0)


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
    model.train()


def main():
    ap = argparse.ArgumentParser()
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    ap.add_argument("--out", default=os.path.join(root, "models", "fashion_detector.onnx"))
    ap.add_argument("--scenes", type=int, default=6400, help="fresh training scenes per epoch")
    ap.add_argument("--epochs", type=int, default=45)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)

    t0 = time.time()
    images, labels = scenes.fashion_data.load("train")
    _, first = make_batch(rng, images, labels, 2000)
    wh = np.array([(x1 - x0, y1 - y0) for bs in first for _, x0, y0, x1, y1 in bs], np.float64)
    anchors = kmeans_anchors(wh, NA, rng)
    print("anchors", np.round(anchors, 1).tolist(), flush=True)
    val_images, val_labels = scenes.fashion_data.load("t10k")
    val_rng = np.random.default_rng(VAL_SEED)
    val = [scenes.make_scene(val_rng, val_images, val_labels) for _ in range(200)]
    val_x, val_boxes = np.stack([v[0] for v in val]), [v[1] for v in val]

    model = Detector()
    steps = args.scenes // BATCH
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=5e-4)
    # short warm-up, then cosine annealing to ~0: fresh data every epoch, so
    # the late low-LR epochs refine rather than memorise
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.epochs * steps, pct_start=0.05,
                                                div_factor=10, final_div_factor=100)
    # the exported weights are an exponential moving average of the trained
    # ones (decay ramping up to 0.999, i.e. ~5 epochs): steadier than the last step
    ema = copy.deepcopy(model)
    updates = 0
    for epoch in range(args.epochs):
        t1 = time.time()
        x_all, boxes_all = make_batch(rng, images, labels, steps * BATCH)
        t_data = time.time() - t1
        total = 0.0
        for s in range(steps):
            sl = slice(s * BATCH, (s + 1) * BATCH)
            loss = loss_fn(model(to_tensor(x_all[sl])), build_targets(boxes_all[sl], anchors), anchors)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            updates += 1
            decay = 0.999 * (1 - np.exp(-updates / 1000))
            with torch.no_grad():
                for e, v in zip(ema.state_dict().values(), model.state_dict().values()):
                    if e.dtype.is_floating_point:
                        e.mul_(decay).add_(v, alpha=1 - decay)
                    else:
                        e.copy_(v)
            total += float(loss)
        t1 = time.time()
        m, blind = evaluate(ema, anchors, val_x, val_boxes)
        print(f"  data {t_data:.0f} s, validation {time.time() - t1:.0f} s", flush=True)
        print(f"epoch {epoch + 1}/{args.epochs}: loss {total / steps:.3f}, validation mAP@0.5 {m:.4f} "
              f"(class-blind AP {blind:.4f}) ({time.time() - t0:.0f} s)", flush=True)
        export(ema, anchors, args.out)  # usable after every epoch

    print(f"wrote {args.out} ({os.path.getsize(args.out) / 1e6:.2f} MB) in {time.time() - t0:.0f} s")
    samples = os.path.join(os.path.dirname(args.out), "detector_samples")
    scenes.write_split(samples, 4, seed=777)
    print(f"wrote sample held-out scenes to {samples}")


if __name__ == "__main__":
    main()
