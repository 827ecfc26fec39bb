#!/usr/bin/python3
"""make_samples.py — write the bundled sample images (models/samples/) from the Fashion-MNIST test set.

    /usr/bin/python3 tools/fashion/make_samples.py [OUT_DIR]    (default models/samples)

One image per class, in the formats nn reads and at sizes that make nn
resize and convert colour: 28x28 gray PNG/JPEG as in the dataset; enlarged
RGB (tinted so the luma stays the dataset's gray), RGBA, 16-bit gray and a
progressive JPEG. The test-set indices are fixed (images the bundled model
classifies correctly); the file name is the true label.
"""
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_data  # noqa: E402

# (test index, file name, how to write it)
SAMPLES = [
    (1, "pullover_rgb_112.png", "rgb112"),
    (2, "trouser.jpg", "gray_jpeg"),
    (4, "shirt.png", "gray"),
    (6, "coat_rgb_84.jpg", "rgb84_jpeg"),
    (8, "sandal_16bit_56.png", "gray16_56"),
    (0, "ankle_boot_rgb_140.jpg", "rgb140_progressive"),
    (9, "sneaker_rgba_64.png", "rgba64"),
    (13, "dress.png", "gray"),
    (18, "bag.jpg", "gray_jpeg"),
    (19, "tshirt_top.png", "gray"),
]


def tinted(gray, size):
    """Enlarge and colour a gray image warm; the weights keep 0.299 R + 0.587 G + 0.114 B ~= gray."""
    g = np.asarray(Image.fromarray(gray, "L").resize((size, size), Image.BICUBIC), np.float64)
    rgb = np.stack([g * 1.1, g, g * 0.8], -1)
    return Image.fromarray(np.clip(np.rint(rgb), 0, 255).astype(np.uint8), "RGB")


def write(gray, path, how):
    if how == "gray":
        Image.fromarray(gray, "L").save(path)
    elif how == "gray_jpeg":
        Image.fromarray(gray, "L").save(path, quality=95)
    elif how == "rgb112":
        tinted(gray, 112).save(path)
    elif how == "rgb84_jpeg":
        tinted(gray, 84).save(path, quality=92)
    elif how == "rgb140_progressive":
        tinted(gray, 140).save(path, quality=90, progressive=True)
    elif how == "rgba64":
        im = tinted(gray, 64).convert("RGBA")
        im.save(path)
    elif how == "gray16_56":
        g = np.asarray(Image.fromarray(gray, "L").resize((56, 56), Image.BICUBIC), np.float64)
        Image.fromarray(np.rint(g * 257).astype(np.uint16), "I;16").save(path)
    else:
        raise ValueError(how)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "models/samples"
    os.makedirs(out, exist_ok=True)
    images, labels = fashion_data.load("t10k")
    for index, name, how in SAMPLES:
        write(images[index], os.path.join(out, name), how)
        print(f"{name}: test image {index}, label {fashion_data.LABELS[labels[index]]}")


if __name__ == "__main__":
    main()
