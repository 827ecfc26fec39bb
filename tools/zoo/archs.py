"""Hand-written torch versions of architectures torchvision does not ship.

Written from the papers' layer tables:
  * Xception   -- Chollet, "Xception: Deep Learning with Depthwise Separable
                  Convolutions" (2017), Fig. 5.  Input 299x299.
  * DarkNet-19 -- Redmon & Farhadi, "YOLO9000" (2017), Table 6 (classifier).
  * DarkNet-53 -- Redmon & Farhadi, "YOLOv3" (2018), Table 1 (classifier).

Weights come from torch's default init; export_zoo.py re-randomises them.
"""

import torch
import torch.nn as nn


# --------------------------------------------------------------------------
# Xception
# --------------------------------------------------------------------------

class SeparableConv2d(nn.Module):
    """Depthwise 3x3 followed by pointwise 1x1, no activation in between
    (the paper found the intermediate non-linearity hurts)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """A stack of [ReLU] -> SepConv -> BN units plus a shortcut.

    With stride 2 the stack ends in a 3x3/2 max pool and the shortcut is a
    strided 1x1 conv + BN; otherwise the shortcut is the identity."""

    def __init__(self, channels, stride, relu_first=True):
        super().__init__()
        layers = []
        for i in range(len(channels) - 1):
            # The very first block of the entry flow follows a ReLU'd conv,
            # so its first unit has no leading ReLU.
            if i > 0 or relu_first:
                # Not inplace: the block input is also the shortcut input.
                layers.append(nn.ReLU(inplace=(i > 0)))
            layers.append(SeparableConv2d(channels[i], channels[i + 1]))
            layers.append(nn.BatchNorm2d(channels[i + 1]))
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, padding=1))
        self.body = nn.Sequential(*layers)
        if stride != 1 or channels[0] != channels[-1]:
            self.skip = nn.Sequential(
                nn.Conv2d(channels[0], channels[-1], 1, stride=stride, bias=False),
                nn.BatchNorm2d(channels[-1]))
        else:
            self.skip = nn.Identity()

    def forward(self, x):
        return self.body(x) + self.skip(x)


class Xception(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        # Entry flow: two plain convs (unpadded, as in the reference model).
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.entry = nn.Sequential(
            XceptionBlock([64, 128, 128], 2, relu_first=False),
            XceptionBlock([128, 256, 256], 2),
            XceptionBlock([256, 728, 728], 2))
        # Middle flow: 8 identical residual blocks of 3 separable convs.
        self.middle = nn.Sequential(*[XceptionBlock([728, 728, 728, 728], 1) for _ in range(8)])
        # Exit flow.
        self.exit_block = XceptionBlock([728, 728, 1024], 2)
        self.exit_convs = nn.Sequential(
            SeparableConv2d(1024, 1536), nn.BatchNorm2d(1536), nn.ReLU(inplace=True),
            SeparableConv2d(1536, 2048), nn.BatchNorm2d(2048), nn.ReLU(inplace=True))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.entry(x)
        x = self.middle(x)
        x = self.exit_convs(self.exit_block(x))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


# --------------------------------------------------------------------------
# DarkNet
# --------------------------------------------------------------------------

def conv_bn_leaky(cin, cout, k, stride=1):
    """Darknet's 'convolutional' layer: conv (no bias) + BN + LeakyReLU(0.1),
    'same' padding."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.1, inplace=True))


class DarkNet19(nn.Module):
    # Layer table: int = 3x3 conv with that many filters, ('1', n) = 1x1
    # conv, 'M' = 2x2/2 max pool.
    CFG = [32, 'M', 64, 'M', 128, ('1', 64), 128, 'M',
           256, ('1', 128), 256, 'M',
           512, ('1', 256), 512, ('1', 256), 512, 'M',
           1024, ('1', 512), 1024, ('1', 512), 1024]

    def __init__(self, num_classes=1000):
        super().__init__()
        layers, cin = [], 3
        for item in self.CFG:
            if item == 'M':
                layers.append(nn.MaxPool2d(2, 2))
            elif isinstance(item, tuple):
                layers.append(conv_bn_leaky(cin, item[1], 1))
                cin = item[1]
            else:
                layers.append(conv_bn_leaky(cin, item, 3))
                cin = item
        self.features = nn.Sequential(*layers)
        # Classifier: linear 1x1 conv (with bias, no BN) then global average.
        self.classifier = nn.Conv2d(cin, num_classes, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        x = self.pool(self.classifier(self.features(x)))
        # view(size(0), -1) rather than flatten: with a dynamic batch this
        # exports as a Shape->Gather->Concat->Reshape chain.
        return x.view(x.size(0), -1)


class DarkResidual(nn.Module):
    """1x1 bottleneck to half the channels, 3x3 back up, add."""

    def __init__(self, ch):
        super().__init__()
        self.body = nn.Sequential(conv_bn_leaky(ch, ch // 2, 1), conv_bn_leaky(ch // 2, ch, 3))

    def forward(self, x):
        return x + self.body(x)


class DarkNet53(nn.Module):
    # (output channels of the strided 3x3 conv, number of residual blocks)
    STAGES = [(64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)]

    def __init__(self, num_classes=1000):
        super().__init__()
        layers, cin = [conv_bn_leaky(3, 32, 3)], 32
        for cout, n in self.STAGES:
            layers.append(conv_bn_leaky(cin, cout, 3, stride=2))
            layers += [DarkResidual(cout) for _ in range(n)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = torch.flatten(self.pool(self.features(x)), 1)
        return self.fc(x)


def xception(num_classes=1000):
    return Xception(num_classes)


def darknet19(num_classes=1000):
    return DarkNet19(num_classes)


def darknet53(num_classes=1000):
    return DarkNet53(num_classes)
