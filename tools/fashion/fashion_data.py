"""fashion_data.py — read Fashion-MNIST from Debian's dataset-fashion-mnist package.

The package installs the four idx files under /usr/share/datasets/fashion-mnist
(`dpkg -L dataset-fashion-mnist`); FASHION_MNIST_DIR overrides the folder.
"""
import gzip
import os

import numpy as np

DATA_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")

# Class names in the dataset's own index order (0 = T-shirt/top ... 9 = Ankle boot).
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# Pixel statistics of the training set on the 0-1 scale (what the model is
# trained with and what nn.input.mean / nn.input.std record).
MEAN = 0.2860
STD = 0.3530


def _read_idx(name, offset):
    path = os.path.join(DATA_DIR, name)
    if not os.path.exists(path):
        raise SystemExit(f"{path} is missing: apt-get install dataset-fashion-mnist "
                         "(or set FASHION_MNIST_DIR)")
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(split):
    """(images uint8 [n,28,28], labels uint8 [n]) for split 'train' or 't10k'."""
    images = _read_idx(f"{split}-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = _read_idx(f"{split}-labels-idx1-ubyte.gz", 8)
    assert len(images) == len(labels)
    return images, labels


def folder_name(label):
    """A file-system-safe folder name for a label ('T-shirt/top' -> 'T-shirt_top')."""
    return label.replace("/", "_")
