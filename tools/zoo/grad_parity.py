#!/usr/bin/python3
"""Whole-model gradient parity: PyTorch's parameter gradients for one batch
of a zoo model, for tools/zoo/grad_parity.c to compare with nn's.

For models exported with their BatchNormalization nodes kept (resnet50,
mobilenet_v2, inception_v3, xception, darknet19), the ONNX initializers carry
torch's state_dict names, so the torch model is rebuilt and loaded from the
ONNX file itself (whatever torch version made it). Dropout is removed on both
sides (its masks cannot match): Identity in the ONNX copy, p = 0 in torch.

Writes OUTDIR/model.onnx (the copy), input.pb, labels.pb, loss.txt,
grads/<param>.pb (dL/dparam of the batch's mean softmax cross-entropy,
computed in float64), torch_f32_errors.txt (torch's own float32 gradients
against those: the scale of rounding effects per tensor) and, with
--bn train, after/<buffer>.pb (running statistics after the step).

Reading the numbers: ReLU/LeakyReLU kinks and max-pool argmaxes make these
gradients very sensitive: perturbing the weights by 1e-6 (relative, in
float64) moves some tensors' gradients by ~1e-2. torch's float32 run often
stays close to its float64 run (same kernels, same decisions), nn's does not
have to; compare nn's error with that sensitivity, not only with torch's
float32 error.

Run: /usr/bin/python3 tools/zoo/grad_parity.py ZOODIR MODEL OUTDIR [--batch 2] [--bn train|frozen]
then: grad_parity OUTDIR train|frozen   (tools/zoo/grad_parity.c)
"""
import argparse
import copy
import os
import shutil
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import export_zoo  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("zoo")
ap.add_argument("model")
ap.add_argument("out")
ap.add_argument("--batch", type=int, default=2)
ap.add_argument("--bn", choices=["train", "frozen"], default="train")
args = ap.parse_args()

spec = export_zoo.MODELS[args.model]
src = os.path.join(args.zoo, args.model, "model.onnx")
m = onnx.load(src)
inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}

model = spec.ctor()
state = model.state_dict()
missing = [k for k in state if k not in inits and not k.endswith("num_batches_tracked")]
if missing:
    sys.exit("%s: torch keys not among the ONNX initializers (BN folded?): %s" % (args.model, missing[:5]))
model.load_state_dict({k: torch.from_numpy(inits[k].copy()) if k in inits else v for k, v in state.items()})
for mod in model.modules():
    if isinstance(mod, nn.Dropout):
        mod.p = 0.0
model.train(args.bn == "train")

# the ONNX copy without Dropout
for n in m.graph.node:
    if n.op_type == "Dropout":
        out = n.output[0]
        n.CopyFrom(helper.make_node("Identity", [n.input[0]], [out], name=n.name))
shutil.rmtree(args.out, ignore_errors=True)
os.makedirs(os.path.join(args.out, "grads"))
os.makedirs(os.path.join(args.out, "after"))
onnx.save(m, os.path.join(args.out, "model.onnx"))

gen = torch.Generator().manual_seed(42)
x = torch.randn(args.batch, 3, spec.size, spec.size, generator=gen)
labels = torch.tensor([(i * 7) % 1000 for i in range(args.batch)], dtype=torch.int64)

# The reference is computed in float64: a float32 computation (torch's or
# nn's) differs from it by rounding, amplified where a gradient is a small
# difference of large terms (e.g. BatchNorm biases right before another
# training-mode BatchNorm). torch's own float32 error is printed for scale.
model64 = copy.deepcopy(model).double()
loss = F.cross_entropy(model(x), labels)
loss.backward()
loss64 = F.cross_entropy(model64(x.double()), labels)
loss64.backward()
f32_err = {}
for (name, p), (_, p64) in zip(model.named_parameters(), model64.named_parameters()):
    f32_err[name] = float((p.grad.double() - p64.grad).norm() / (p64.grad.norm() + 1e-30))
worst = max(f32_err, key=f32_err.get)
print("torch float32 vs float64: worst relative L2 error %.2e (%s)" % (f32_err[worst], worst))
model, loss = model64, loss64
onnx.save_tensor(numpy_helper.from_array(x.numpy(), "input"), os.path.join(args.out, "input.pb"))
onnx.save_tensor(numpy_helper.from_array(labels.numpy(), "labels"), os.path.join(args.out, "labels.pb"))
with open(os.path.join(args.out, "loss.txt"), "w") as f:
    f.write("%.12g\n" % loss.item())
for name, p in model.named_parameters():
    g = p.grad.float().numpy()
    onnx.save_tensor(numpy_helper.from_array(g, name), os.path.join(args.out, "grads", name + ".pb"))
if args.bn == "train":
    for name, b in model.named_buffers():
        if b.dtype == torch.float64:
            b = b.float()
            onnx.save_tensor(numpy_helper.from_array(b.numpy(), name), os.path.join(args.out, "after", name + ".pb"))
with open(os.path.join(args.out, "torch_f32_errors.txt"), "w") as f:
    for name, e in f32_err.items():
        f.write("%s %.3e\n" % (name, e))
print("%s: loss %.6f, %d parameter gradients" % (args.model, loss.item(), len(list(model.parameters()))))
