#!/usr/bin/python3
"""make_eval_tree.py — write the Fashion-MNIST test set as a class-folder tree of PNGs for `nn-tool eval`.

    /usr/bin/python3 tools/fashion/make_eval_tree.py [OUT_DIR]    (default build/fashion-test)

OUT_DIR/<label>/<index>.png, 28x28 8-bit gray, 1000 per class; the folder
name is the label with '/' replaced ('T-shirt/top' -> 'T-shirt_top'), which
nn-tool eval matches to the model's nn.labels ignoring case and punctuation.
Then: nn-tool eval models/fashion_cnn.onnx --data build/fashion-test
"""
import os
import sys

from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_data  # noqa: E402


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "build/fashion-test"
    images, labels = fashion_data.load("t10k")
    for name in fashion_data.LABELS:
        os.makedirs(os.path.join(out, fashion_data.folder_name(name)), exist_ok=True)
    for i, (img, y) in enumerate(zip(images, labels)):
        folder = fashion_data.folder_name(fashion_data.LABELS[y])
        Image.fromarray(img, "L").save(os.path.join(out, folder, f"{i:05d}.png"))
    print(f"wrote {len(images)} images under {out}/")


if __name__ == "__main__":
    main()
