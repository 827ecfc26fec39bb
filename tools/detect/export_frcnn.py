#!/usr/bin/python3
"""Export torchvision's Faster R-CNN (mobilenet_v3_large_320_fpn) with seeded,
"sane" weights to ONNX, with a fixed test image and torch's own outputs.

  export_frcnn.py OUTDIR [--image JPEG] [--seed N]

OUTDIR receives an ONNX backend-test style case:
  model.onnx                    the export (opset 11, input [3, H, W] in 0..1)
  image.png                     the fixed image (the model's input size)
  test_data_set_0/input_0.pb    the image tensor (8-bit RGB / 255)
  torch/output_K.pb             torch's boxes, labels, scores
(tools/zoo/ort_reference.js OUTDIR then writes ONNX Runtime's outputs to
test_data_set_0/output_K.pb.)

Random weights alone give nothing: the batch-norm running statistics of a
fresh network make the backbone's features vanish (~1e-8), and uniform class
scores never pass the score threshold. So the batch norms are calibrated on
the image (running statistics = its own statistics, as
tools/darknet/dn_tool.c does for darknet), the RPN head is scaled up so
objectness and proposals vary, and the classifier is scaled and biased so a
few classes score well: a few dozen detections pass the threshold, with
well-separated scores (no ties for the sorting steps).
"""
import argparse
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn

import onnx
from onnx import numpy_helper

WIDTH, HEIGHT = 320, 240
OUTPUTS = ["boxes", "labels", "scores"]


def build(seed, x):
    torch.manual_seed(seed)
    m = fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, num_classes=91,
                                              box_score_thresh=0.25)
    m.eval()
    with torch.no_grad():
        # batch norms: running statistics from this image
        bns = [b for b in m.modules() if isinstance(b, torch.nn.BatchNorm2d)]
        for b in bns:
            b.train()
            b.momentum = 1.0
        m.backbone(m.transform([x])[0].tensors)
        for b in bns:
            b.eval()
        torch.nn.init.normal_(m.rpn.head.cls_logits.weight, std=0.1)
        torch.nn.init.normal_(m.rpn.head.bbox_pred.weight, std=0.05)
        cls = m.roi_heads.box_predictor.cls_score
        cls.weight.mul_(8.0)
        cls.bias.copy_(torch.randn(cls.bias.shape[0]) * 2.0)
        cls.bias[0] = 2.0  # background
    return m


def save_pb(path, name, array):
    t = numpy_helper.from_array(np.ascontiguousarray(array), name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--image", default="/usr/share/darknet/data/dog.jpg")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    os.makedirs(os.path.join(a.outdir, "test_data_set_0"), exist_ok=True)
    os.makedirs(os.path.join(a.outdir, "torch"), exist_ok=True)

    im = Image.open(a.image).convert("RGB").resize((WIDTH, HEIGHT), Image.BILINEAR)
    im.save(os.path.join(a.outdir, "image.png"))
    pixels = np.asarray(im, dtype=np.uint8)
    x = torch.from_numpy(pixels.transpose(2, 0, 1).astype(np.float32) / np.float32(255.0))

    m = build(a.seed, x)
    with torch.no_grad():
        ref = m([x])[0]
    save_pb(os.path.join(a.outdir, "test_data_set_0", "input_0.pb"), "images", x.numpy())
    for k, name in enumerate(OUTPUTS):
        save_pb(os.path.join(a.outdir, "torch", "output_%d.pb" % k), name, ref[name].numpy())

    path = os.path.join(a.outdir, "model.onnx")
    torch.onnx.export(m, ([x],), path, opset_version=11, input_names=["images"], output_names=OUTPUTS,
                      do_constant_folding=True)
    model = onnx.load(path)
    for k, v in (("nn.detect.family", "faster_rcnn"), ("nn.input.resize", "stretch")):
        p = model.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(model, path)
    print("%s: %d detections (best score %.3f), model %.1f MB" % (
        a.outdir, ref["boxes"].shape[0], float(ref["scores"].max()) if len(ref["scores"]) else 0.0,
        os.path.getsize(path) / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
