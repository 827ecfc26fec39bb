#!/usr/bin/env python3
"""Fixed raw detector outputs and the boxes they decode to, for test/check_detect.c.

An independent numpy reference of nn's detection post-processing (see
docs/detection.md): decoding of YOLOv2 region, YOLOv3 yolo heads, flat
YOLOv5 [1,N,5+C] and YOLOv8 [1,4+C,N] outputs, the letterbox inverse
(darknet's and nn's general one), NMS (per class or class-agnostic, IoU
strictly above the threshold suppresses), max detections, corners in image
pixels clamped to the image.

Writes one folder per case under the output folder (default test/data/detect):
  case.txt      key value lines (family, classes, net, anchors, masks, image,
                fit, thresh, iou, agnostic, max_det, heads: "head K rank d0 d1 ...")
  head_K.f32    raw float32 little-endian outputs
  expected.txt  one detection per line: class score x0 y0 x1 y1 (best first)
Random values are seeded; a case is redrawn while any score sits within 1e-4
of the threshold or any compared IoU within 1e-4 of the NMS threshold, so
that float rounding cannot flip a decision.

usage: make_testdata.py [OUTDIR]
"""
import os
import sys

import numpy as np

f32 = np.float32


def sig(x):
    return f32(1.0 / (1.0 + np.exp(-np.float64(x))))


class Borderline(Exception):
    pass


def check_margin(v, t, what):
    if abs(float(v) - float(t)) < 1e-4:
        raise Borderline(what)


def decode_v3(heads, anchors, masks, classes, net_w, net_h, thresh):
    recs = []
    E = 5 + classes
    for k, h in enumerate(heads):
        _, C, H, W = h.shape
        for i in range(H * W):
            row, col = divmod(i, W)
            for n, a in enumerate(masks[k]):
                e = h[0, n * E:(n + 1) * E, row, col]
                obj = sig(e[4])
                check_margin(obj, thresh, "objectness")
                if obj <= thresh:
                    continue
                x = f32((f32(col) + sig(e[0])) / f32(W))
                y = f32((f32(row) + sig(e[1])) / f32(H))
                w = f32(np.exp(np.float64(e[2])) * np.float64(f32(anchors[2 * a])) / net_w)
                hh = f32(np.exp(np.float64(e[3])) * np.float64(f32(anchors[2 * a + 1])) / net_h)
                probs = np.array([f32(obj * sig(c)) for c in e[5:]], dtype=f32)
                for p in probs:
                    check_margin(p, thresh, "class probability")
                probs[probs <= thresh] = 0
                recs.append([x, y, w, hh, probs])
    return recs


def softmax_dn(v):
    v = v.astype(f32)
    m = v.max()
    e = np.array([f32(np.exp(np.float64(f32(x - m)))) for x in v], dtype=f32)
    s = f32(0)
    for x in e:
        s = f32(s + x)
    return (e / s).astype(f32)


def decode_v2(h, anchors, classes, thresh):
    recs = []
    E = 5 + classes
    _, C, H, W = h.shape
    A = C // E
    for n in range(A):
        for i in range(H * W):
            row, col = divmod(i, W)
            e = h[0, n * E:(n + 1) * E, row, col]
            obj = sig(e[4])
            check_margin(obj, thresh, "objectness")
            if obj <= thresh:
                continue
            x = f32((f32(col) + sig(e[0])) / f32(W))
            y = f32((f32(row) + sig(e[1])) / f32(H))
            w = f32(np.exp(np.float64(e[2])) * np.float64(f32(anchors[2 * n])) / W)
            hh = f32(np.exp(np.float64(e[3])) * np.float64(f32(anchors[2 * n + 1])) / H)
            probs = (obj * softmax_dn(e[5:])).astype(f32)
            for p in probs:
                check_margin(p, thresh, "class probability")
            probs[probs <= thresh] = 0
            recs.append([x, y, w, hh, probs])
    return recs


def decode_flat(h, v8, classes, net_w, net_h, thresh):
    recs = []
    rows = h[0].T if v8 else h[0]
    for r in rows:
        if v8:
            obj, cls = f32(1), r[4:]
        else:
            obj, cls = r[4], r[5:]
            check_margin(obj, thresh, "objectness")
            if obj <= thresh:
                continue
        best = int(np.argmax(cls))
        score = f32(obj * cls[best])
        check_margin(score, thresh, "score")
        if score <= thresh:
            continue
        probs = np.zeros(classes, dtype=f32)
        probs[best] = score
        recs.append([f32(r[0] / f32(net_w)), f32(r[1] / f32(net_h)), f32(r[2] / f32(net_w)), f32(r[3] / f32(net_h)), probs])
    return recs


def darknet_fit(iw, ih, nw, nh):
    if f32(nw) / f32(iw) < f32(nh) / f32(ih):
        w, h = nw, (ih * nw) // iw
    else:
        w, h = (iw * nh) // ih, nh
    return w, h


def unfit(recs, fit, iw, ih, nw, nh):
    if fit == "stretch":
        return
    for r in recs:
        if fit == "darknet":
            w, h = darknet_fit(iw, ih, nw, nh)
            r[0] = f32((np.float64(r[0]) - (nw - w) / 2.0 / nw) / np.float64(f32(w) / f32(nw)))
            r[1] = f32((np.float64(r[1]) - (nh - h) / 2.0 / nh) / np.float64(f32(h) / f32(nh)))
            r[2] = f32(r[2] * (f32(nw) / f32(w)))
            r[3] = f32(r[3] * (f32(nh) / f32(h)))
        else:
            s = min(nw / iw, nh / ih)
            w = min(max(int(np.floor(iw * s + 0.5)), 1), nw)
            h = min(max(int(np.floor(ih * s + 0.5)), 1), nh)
            ox, oy = (nw - w) // 2, (nh - h) // 2
            r[0] = f32((np.float64(r[0]) * nw - ox) / w)
            r[1] = f32((np.float64(r[1]) * nh - oy) / h)
            r[2] = f32(np.float64(r[2]) * nw / w)
            r[3] = f32(np.float64(r[3]) * nh / h)


def iou(a, b):
    def ov(c1, l1, c2, l2):
        lo = max(c1 - l1 / 2, c2 - l2 / 2)
        hi = min(c1 + l1 / 2, c2 + l2 / 2)
        return hi - lo
    w = ov(*map(float, (a[0], a[2], b[0], b[2])))
    h = ov(*map(float, (a[1], a[3], b[1], b[3])))
    inter = 0.0 if (w < 0 or h < 0) else w * h
    return inter / (float(a[2]) * float(a[3]) + float(b[2]) * float(b[3]) - inter)


def nms(recs, thr, agnostic, max_det):
    cands = [(float(r[4][c]), i, c) for i, r in enumerate(recs) for c in range(len(r[4])) if r[4][c] > 0]
    cands.sort(key=lambda t: (-t[0], t[1], t[2]))
    keep, dead = [], [False] * len(cands)
    for i, (s, ri, c) in enumerate(cands):
        if dead[i]:
            continue
        keep.append(cands[i])
        for j in range(i + 1, len(cands)):
            if dead[j] or (not agnostic and cands[j][2] != c):
                continue
            v = iou(recs[ri], recs[cands[j][1]])
            check_margin(v, thr, "IoU")
            if v > thr:
                dead[j] = True
    return keep[:max_det] if max_det else keep


def corners(r, iw, ih):
    def cl(v, hi):
        return min(max(v, 0.0), float(hi))
    x, y, w, h = (float(v) for v in r[:4])
    return (cl(float(f32((x - w / 2) * iw)), iw), cl(float(f32((y - h / 2) * ih)), ih),
            cl(float(f32((x + w / 2) * iw)), iw), cl(float(f32((y + h / 2) * ih)), ih))


def make_case(rng, c):
    fam, classes, nw, nh = c["family"], c["classes"], c["net"][0], c["net"][1]
    heads = []
    if fam == "yolov3":
        E = 5 + classes
        for k, (gh, gw) in enumerate(c["grids"]):
            A = len(c["masks"][k])
            h = rng.normal(0, 1.0, (1, A * E, gh, gw)).astype(f32)
            for a in range(A):
                h[0, a * E + 4] += f32(-2.5)
                h[0, a * E + 2:a * E + 4] *= f32(0.5)
            heads.append(h)
        recs = decode_v3(heads, c["anchors"], c["masks"], classes, nw, nh, c["thresh"])
    elif fam == "yolov2":
        E = 5 + classes
        gh, gw = c["grids"][0]
        A = len(c["anchors"]) // 2
        h = rng.normal(0, 1.0, (1, A * E, gh, gw)).astype(f32)
        for a in range(A):
            h[0, a * E + 4] += f32(-1.0)
            h[0, a * E + 5:(a + 1) * E] *= f32(3.0)
        heads.append(h)
        recs = decode_v2(h, c["anchors"], classes, c["thresh"])
    else:
        v8 = fam == "yolov8"
        N = c["boxes"]
        box = np.stack([rng.uniform(0, nw, N), rng.uniform(0, nh, N), rng.uniform(4, nw / 2, N),
                        rng.uniform(4, nh / 2, N)], 1)
        cls = rng.uniform(0, 1, (N, classes)) ** 4
        cols = [box] + ([] if v8 else [rng.uniform(0, 1, (N, 1))]) + [cls]
        rows = np.concatenate(cols, 1).astype(f32)
        h = (rows.T[None] if v8 else rows[None]).astype(f32)
        heads.append(np.ascontiguousarray(h))
        recs = decode_flat(h, v8, classes, nw, nh, c["thresh"])
    iw, ih = c["image"]
    unfit(recs, c["fit"], iw, ih, nw, nh)
    keep = nms(recs, c["iou"], c["agnostic"], c["max_det"])
    return heads, [(cl, s) + corners(recs[ri], iw, ih) for (s, ri, cl) in keep]


CASES = {
    "yolov3_darknet": dict(family="yolov3", classes=4, net=(128, 96), grids=[(3, 4), (6, 8)],
                           anchors=[10, 14, 23, 27, 37, 58, 81, 82, 135, 169, 344, 319], masks=[[3, 4, 5], [0, 1, 2]],
                           image=(200, 120), fit="darknet", thresh=0.3, iou=0.45, agnostic=0, max_det=0),
    "yolov3_agnostic": dict(family="yolov3", classes=3, net=(96, 96), grids=[(6, 6)],
                            anchors=[12, 16, 30, 40, 60, 50], masks=[[0, 1, 2]],
                            image=(77, 150), fit="letterbox", thresh=0.2, iou=0.3, agnostic=1, max_det=5),
    "yolov2_darknet": dict(family="yolov2", classes=3, net=(160, 160), grids=[(5, 5)],
                           anchors=[0.57273, 0.677385, 1.87446, 2.06253, 3.33843, 5.47434], masks=None,
                           image=(333, 201), fit="darknet", thresh=0.25, iou=0.45, agnostic=0, max_det=0),
    "yolov5_letterbox": dict(family="yolov5", classes=5, net=(160, 128), boxes=120, image=(300, 170),
                             fit="letterbox", thresh=0.25, iou=0.45, agnostic=0, max_det=0),
    "yolov8_stretch": dict(family="yolov8", classes=4, net=(128, 128), boxes=150, image=(64, 200), fit="stretch",
                           thresh=0.3, iou=0.5, agnostic=0, max_det=10),
}


def write_case(out, name, c, seed):
    rng = np.random.default_rng(seed)
    for attempt in range(200):
        try:
            heads, dets = make_case(rng, c)
            break
        except Borderline:
            continue
    else:
        raise SystemExit(f"{name}: could not draw a case without borderline values")
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "case.txt"), "w") as f:
        f.write(f"family {c['family']}\nclasses {c['classes']}\nnet {c['net'][0]} {c['net'][1]}\n")
        if c.get("anchors"):
            f.write("anchors " + ",".join(repr(float(f32(a))) for a in c["anchors"]) + "\n")
        if c.get("masks"):
            f.write("masks " + ";".join(",".join(str(m) for m in g) for g in c["masks"]) + "\n")
        f.write(f"image {c['image'][0]} {c['image'][1]}\nfit {c['fit']}\nthresh {c['thresh']}\niou {c['iou']}\n")
        f.write(f"agnostic {c['agnostic']}\nmax_det {c['max_det']}\n")
        for k, h in enumerate(heads):
            f.write(f"head {k} {h.ndim} " + " ".join(str(s) for s in h.shape) + "\n")
            h.astype("<f4").tofile(os.path.join(d, f"head_{k}.f32"))
    with open(os.path.join(d, "expected.txt"), "w") as f:
        for cl, s, x0, y0, x1, y1 in dets:
            f.write(f"{cl} {s:.9g} {x0:.9g} {y0:.9g} {x1:.9g} {y1:.9g}\n")
    print(f"{name}: {len(dets)} detections (attempt {attempt + 1})")


def write_white_model(out):
    """white.onnx: a yolov3-family ONNX model whose objectness is "the pixel is
    white" (1x1 Conv, 1-pixel anchors, metadata, no nn.input.resize: nn's
    letterbox), and white.png: a 64x32 image with a white 8x8 square at
    x 16..24, y 8..16. Its 16 detections must tile the square exactly."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from scenes import write_png
    w = np.zeros((6, 3, 1, 1), np.float32)
    w[4, 0, 0, 0] = 20
    b = np.array([0, 0, 0, 0, -10, 5], np.float32)
    g = helper.make_graph([helper.make_node("Conv", ["x", "W", "B"], ["y"])], "white",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 32, 32])],
                          [numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    for k, v in {"nn.detect.family": "yolov3", "nn.detect.anchors": "1,1", "nn.detect.masks": "0",
                 "nn.detect.classes": "1", "nn.labels": "square"}.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, os.path.join(out, "white.onnx"))
    img = np.zeros((32, 64, 3), np.uint8)
    img[8:16, 16:24] = 255
    write_png(os.path.join(out, "white.png"), img)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "test", "data",
                                                              "detect")
    for i, (name, c) in enumerate(sorted(CASES.items())):
        write_case(out, name, c, 1000 + i)
    write_white_model(out)


if __name__ == "__main__":
    main()
