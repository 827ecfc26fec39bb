#!/usr/bin/python3
"""Training parity cases for test/check_train.c: small PyTorch models exported
to ONNX, a few batches, the optimizer settings, and what PyTorch 1.13 computes
for them: the loss of every step and every parameter/buffer after the last
step (TensorProtos named after the ONNX initializers).

Layout of a case folder:
  model.onnx
  config.txt           "key value" lines read by check_train.c
  input_K.pb labels_K.pb   batch K (float32 [N,...], int64 [N])
  loss.txt             one loss per step
  expected/NAME.pb     parameters and running statistics after the last step

Run: /usr/bin/python3 tools/testdata/make_train_cases.py test/data/train
"""
import math
import os
import shutil
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/data/train"
torch.manual_seed(1234)
np.random.seed(1234)


class MLP(nn.Module):
    def __init__(self, i=8, h=16, o=5):
        super().__init__()
        self.fc1 = nn.Linear(i, h)
        self.fc2 = nn.Linear(h, o)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class MatMulNet(nn.Module):
    """Flatten -> MatMul + Add (explicit parameters) -> Relu -> Reshape -> MatMul + Add."""
    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(24, 12) * 0.3)
        self.b1 = nn.Parameter(torch.randn(12) * 0.1)
        self.w2 = nn.Parameter(torch.randn(12, 4) * 0.3)
        self.b2 = nn.Parameter(torch.randn(4) * 0.1)

    def forward(self, x):
        h = torch.flatten(x, 1)
        h = F.relu(torch.matmul(h, self.w1) + self.b1)
        h = h.reshape(-1, 3, 4).reshape(-1, 12)
        return torch.matmul(h, self.w2) + self.b2


class Residual(nn.Module):
    """A value feeding several nodes (gradients summed), Sub and a broadcast Mul."""
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 10)
        self.scale = nn.Parameter(torch.rand(10) + 0.5)
        self.shift = nn.Parameter(torch.randn(1, 10) * 0.1)
        self.fc2 = nn.Linear(10, 6)

    def forward(self, x):
        h = F.relu(self.fc1(x)) + x
        h = h * self.scale - self.shift
        h = h * h + h
        return self.fc2(h)


class SoftmaxHead(nn.Module):
    """Ends in Softmax: nn trains on its input (the logits)."""
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 12)
        self.fc2 = nn.Linear(12, 4)

    def forward(self, x):
        return F.softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def randomize_bn(model):
    """Running statistics and affine parameters that are not the defaults (the
    exporter also merges identical initializers, which would hide names)."""
    with torch.no_grad():
        for bn in model.modules():
            if isinstance(bn, nn.BatchNorm2d):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.2, 0.2)


class ConvBN(nn.Module):
    """Conv, BatchNorm, Relu, MaxPool, depthwise Conv, ReLU6 (Clip), GlobalAveragePool, Flatten, Gemm."""
    def __init__(self, conv_bias=True):
        super().__init__()
        # before a training-mode BatchNorm a conv bias gets no gradient (the batch mean removes it):
        # Adam would turn rounding noise into full-size steps, so those cases leave it out
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=conv_bias)
        self.bn1 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 5)
        with torch.no_grad():  # running statistics that are not the defaults
            for bn in (self.bn1, self.bn2):
                bn.running_mean.uniform_(-0.5, 0.5)
                bn.running_var.uniform_(0.5, 2.0)
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        h = torch.clamp(self.bn2(self.dw(h)), 0.0, 6.0)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class Branches(nn.Module):
    """Grouped Conv, two branches joined by Concat, AveragePool, Sigmoid/Tanh/LeakyRelu, residual Add."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(4, 8, 3, padding=1)
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=2)
        self.pw = nn.Conv2d(8, 8, 1)
        self.head = nn.Conv2d(16, 6, 1)
        self.fc = nn.Linear(6 * 3 * 3, 4)

    def forward(self, x):
        s = F.leaky_relu(self.stem(x), 0.1)
        a = torch.sigmoid(self.grouped(s))
        b = torch.tanh(self.pw(s)) + s
        h = torch.cat([a, b], 1)
        h = F.avg_pool2d(self.head(h), 2)
        return self.fc(torch.flatten(h, 1))


class ResBlock(nn.Module):
    """ResNet stem (7x7/2 conv, BN, Relu, 3x3/2 max pool) and one basic block with an identity shortcut."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 3)
        randomize_bn(self)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, stride=2, padding=1)
        r = F.relu(self.bn2(self.conv2(h)))
        h = F.relu(self.bn3(self.conv3(r)) + h)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class ShapeChain(nn.Module):
    """x.view(x.size(0), -1): a Shape -> Gather -> Concat -> Reshape chain computed at run time."""
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 5 * 5, 3)

    def forward(self, x):
        h = F.relu(self.conv(x))
        return self.fc(h.view(h.size(0), -1))


def torch_logits(model, x, ends_in_softmax):
    if ends_in_softmax:
        # the same network without the final softmax
        return model.fc2(F.relu(model.fc1(x)))
    return model(x)


def write_case(name, model, batches, opt_cfg, ends_in_softmax=False, frozen=(), factors=None, opset=13,
               input_shape=None):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "expected"))
    model.eval()
    x0 = batches[0][0]
    torch.onnx.export(model, x0, os.path.join(d, "model.onnx"), opset_version=opset, do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    onnx_model = onnx.load(os.path.join(d, "model.onnx"))
    inits = {t.name for t in onnx_model.graph.initializer}
    for k, v in model.state_dict().items():
        assert k in inits or v.dtype != torch.float32, "initializer %s missing from the export (%s)" % (k, sorted(inits))

    factors = dict(factors or {})
    for p in frozen:
        factors[p] = 0.0
    groups = {}
    for n, p in model.named_parameters():
        f = factors.get(n, 1.0)
        if f == 0.0:
            p.requires_grad_(False)
            continue
        groups.setdefault(f, []).append(p)
    lr = opt_cfg["lr"]
    kind = opt_cfg["optimizer"]
    param_groups = [{"params": ps, "lr": lr * f} for f, ps in groups.items()]
    wd = opt_cfg.get("weight_decay", 0.0)
    if kind == "sgd":
        opt = torch.optim.SGD(param_groups, lr=lr, momentum=opt_cfg.get("momentum", 0.0),
                              nesterov=bool(opt_cfg.get("nesterov", 0)), weight_decay=wd)
    elif kind == "adam":
        opt = torch.optim.Adam(param_groups, lr=lr, betas=(opt_cfg.get("beta1", 0.9), opt_cfg.get("beta2", 0.999)),
                               eps=opt_cfg.get("epsilon", 1e-8), weight_decay=wd)
    else:
        opt = torch.optim.AdamW(param_groups, lr=lr, betas=(opt_cfg.get("beta1", 0.9), opt_cfg.get("beta2", 0.999)),
                                eps=opt_cfg.get("epsilon", 1e-8), weight_decay=wd)
    sched = None
    if opt_cfg.get("schedule") == "step":
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=opt_cfg["step_size"], gamma=opt_cfg["gamma"])
    elif opt_cfg.get("schedule") == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=opt_cfg["total_steps"],
                                                           eta_min=opt_cfg.get("lr_min", 0.0))
    weight = opt_cfg.get("class_weights")
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(weight, dtype=torch.float32) if weight else None,
                                  label_smoothing=opt_cfg.get("label_smoothing", 0.0))
    model.train(opt_cfg.get("batchnorm", "frozen") == "train")
    for m in model.modules():  # nn: a BatchNorm with frozen parameters keeps using its running statistics
        if isinstance(m, nn.BatchNorm2d) and factors.get(
                [k for k, v in model.named_modules() if v is m][0] + ".weight", 1.0) == 0.0:
            m.eval()
    losses = []
    for k, (x, y) in enumerate(batches):
        opt.zero_grad()
        loss = loss_fn(torch_logits(model, x, ends_in_softmax), y)
        loss.backward()
        if opt_cfg.get("clip_norm"):
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], opt_cfg["clip_norm"])
        opt.step()
        if sched:
            sched.step()
        losses.append(loss.item())
        onnx.save_tensor(numpy_helper.from_array(x.numpy(), "input"), os.path.join(d, "input_%d.pb" % k))
        onnx.save_tensor(numpy_helper.from_array(y.numpy().astype(np.int64), "labels"),
                         os.path.join(d, "labels_%d.pb" % k))
    with open(os.path.join(d, "loss.txt"), "w") as f:
        for v in losses:
            f.write("%.9g\n" % v)
    for k, v in model.state_dict().items():
        if v.dtype != torch.float32:
            continue  # num_batches_tracked
        onnx.save_tensor(numpy_helper.from_array(v.detach().numpy().copy(), k), os.path.join(d, "expected", k + ".pb"))
    with open(os.path.join(d, "config.txt"), "w") as f:
        f.write("steps %d\n" % len(batches))
        for key in ("optimizer", "lr", "momentum", "nesterov", "weight_decay", "beta1", "beta2", "epsilon",
                    "schedule", "step_size", "gamma", "total_steps", "lr_min", "clip_norm", "label_smoothing",
                    "batchnorm"):
            if key in opt_cfg:
                f.write("%s %s\n" % (key, opt_cfg[key]))
        if weight:
            f.write("class_weights %s\n" % ",".join("%.9g" % w for w in weight))
        for n, fa in factors.items():
            f.write("lr_factor %s %.9g\n" % (n, fa))


def batches(shape, classes, n_batches, n=6):
    out = []
    for _ in range(n_batches):
        x = torch.randn(n, *shape)
        y = torch.randint(0, classes, (n,))
        out.append((x, y))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    write_case("mlp_sgd", MLP(), batches((8,), 5, 3), {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9})
    write_case("mlp_adam", MLP(), batches((8,), 5, 3),
               {"optimizer": "adam", "lr": 0.01, "weight_decay": 0.01})
    write_case("mlp_adamw_cosine", MLP(), batches((8,), 5, 3),
               {"optimizer": "adamw", "lr": 0.02, "weight_decay": 0.1, "schedule": "cosine", "total_steps": 4,
                "lr_min": 0.001})
    write_case("mlp_nesterov_weighted", MLP(), batches((8,), 5, 3),
               {"optimizer": "sgd", "lr": 0.2, "momentum": 0.8, "nesterov": 1, "weight_decay": 0.001,
                "class_weights": [0.5, 2.0, 1.0, 3.0, 0.25], "label_smoothing": 0.1, "schedule": "step",
                "step_size": 2, "gamma": 0.5})
    write_case("mlp_clip", MLP(), batches((8,), 5, 2),
               {"optimizer": "sgd", "lr": 0.5, "momentum": 0.0, "clip_norm": 0.05})
    write_case("matmul_flatten_reshape", MatMulNet(), batches((2, 3, 4), 4, 3),
               {"optimizer": "sgd", "lr": 0.1, "momentum": 0.5})
    write_case("residual_sub_mul", Residual(), batches((10,), 6, 3), {"optimizer": "adam", "lr": 0.01})
    write_case("softmax_head", SoftmaxHead(), batches((6,), 4, 2), {"optimizer": "sgd", "lr": 0.3, "momentum": 0.9},
               ends_in_softmax=True)
    write_case("freeze_factor", MLP(), batches((8,), 5, 2), {"optimizer": "sgd", "lr": 0.2, "momentum": 0.9},
               frozen=("fc1.weight", "fc1.bias"), factors={"fc2.bias": 0.5})
    write_case("conv_bn_frozen", ConvBN(), batches((3, 8, 8), 5, 3, n=4),
               {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01})
    write_case("conv_bn_train", ConvBN(conv_bias=False), batches((3, 8, 8), 5, 3, n=4),
               {"optimizer": "adam", "lr": 0.01, "batchnorm": "train"})
    write_case("conv_bn_frozen_prefix", ConvBN(conv_bias=False), batches((3, 8, 8), 5, 2, n=4),
               {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9, "batchnorm": "train"},
               frozen=("conv1.weight", "bn1.weight", "bn1.bias"))
    write_case("resnet_block_bn_train", ResBlock(), batches((3, 16, 16), 3, 3, n=4),
               {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batchnorm": "train", "weight_decay": 1e-4})
    write_case("shape_chain_reshape", ShapeChain(), batches((2, 5, 5), 3, 2, n=3),
               {"optimizer": "sgd", "lr": 0.1, "momentum": 0.9})
    write_case("grouped_concat_pool", Branches(), batches((4, 6, 6), 4, 3, n=3),
               {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": 1})


if __name__ == "__main__":
    main()
