"""scenes.py — synthetic detection scenes: Fashion-MNIST items pasted at random
positions and scales, tinted, on textured canvases, with YOLO-format labels.

Items come from Debian's dataset-fashion-mnist (tools/fashion/fashion_data.py):
the 'train' split for training scenes, 't10k' for held-out ones, so the
evaluation never sees a training item.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fashion"))
import fashion_data  # noqa: E402

LABELS = fashion_data.LABELS
SIZE = 128                 # scene side in pixels (the detector's input)
MIN_SIDE, MAX_SIDE = 22, 60  # pasted item size (the longer side of its 28x28 square scaled)


def _resize(img, h, w):
    """Bilinear resize of a float image [H, W] (align-centres)."""
    H, W = img.shape
    ys = (np.arange(h) + 0.5) * H / h - 0.5
    xs = (np.arange(w) + 0.5) * W / w - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, H - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, W - 1)
    y1 = np.clip(y0 + 1, 0, H - 1)
    x1 = np.clip(x0 + 1, 0, W - 1)
    dy = np.clip(ys - y0, 0, 1)[:, None]
    dx = np.clip(xs - x0, 0, 1)[None, :]
    a = img[y0][:, x0] * (1 - dx) + img[y0][:, x1] * dx
    b = img[y1][:, x0] * (1 - dx) + img[y1][:, x1] * dx
    return a * (1 - dy) + b * dy


def _background(rng, size):
    """Smooth colour field + a random texture (stripes, checks or noise)."""
    grid = rng.uniform(0, 1, (5, 5, 3))
    bg = np.stack([_resize(grid[:, :, c], size, size) for c in range(3)], -1)
    bg = 0.15 + 0.7 * bg
    kind = rng.integers(0, 3)
    yy, xx = np.mgrid[0:size, 0:size]
    if kind == 0:
        period = rng.uniform(4, 16)
        angle = rng.uniform(0, np.pi)
        tex = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    elif kind == 1:
        cell = int(rng.integers(4, 14))
        tex = ((xx // cell + yy // cell) % 2) * 2.0 - 1
    else:
        tex = rng.normal(0, 1, (size, size))
    bg = bg + rng.uniform(0.03, 0.12) * tex[:, :, None]
    return np.clip(bg, 0, 1)


def _iou(a, b):
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def make_scene(rng, images, labels, size=SIZE, max_items=4):
    """(uint8 RGB [size, size, 3], [(class, x0, y0, x1, y1)] in pixels)."""
    canvas = _background(rng, size)
    boxes = []
    for _ in range(int(rng.integers(1, max_items + 1))):
        for _try in range(20):
            k = int(rng.integers(0, len(images)))
            item = images[k].astype(np.float64) / 255.0
            side = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
            aspect = rng.uniform(0.8, 1.25)
            h, w = max(8, int(round(side * aspect))), max(8, int(round(side / aspect)))
            h, w = min(h, size), min(w, size)
            patch = np.clip(_resize(item, h, w), 0, 1)
            ys, xs = np.nonzero(patch > 0.08)
            if len(ys) == 0:
                continue
            x = int(rng.integers(0, size - w + 1))
            y = int(rng.integers(0, size - h + 1))
            box = (x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1)
            if any(_iou(box, b[1:]) > 0.2 for b in boxes):
                continue
            colour = rng.uniform(0.2, 1.0, 3)
            if rng.uniform() < 0.5:
                colour = colour * 0.3 + 0.7  # light items too
            alpha = np.clip(patch * 2.5, 0, 1)[:, :, None]
            ink = patch[:, :, None] * colour[None, None, :]
            region = canvas[y:y + h, x:x + w]
            canvas[y:y + h, x:x + w] = region * (1 - alpha) + ink * alpha
            boxes.append((int(labels[k]),) + tuple(int(v) for v in box))
            break
    return (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8), boxes


def yolo_lines(boxes, size=SIZE):
    out = []
    for c, x0, y0, x1, y1 in boxes:
        out.append(f"{c} {(x0 + x1) / 2 / size:.6f} {(y0 + y1) / 2 / size:.6f} {(x1 - x0) / size:.6f} "
                   f"{(y1 - y0) / size:.6f}")
    return "\n".join(out) + ("\n" if out else "")


def write_png(path, rgb):
    """A minimal PNG writer (zlib), so no imaging library is needed."""
    import struct
    import zlib
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write_split(out_dir, n, seed, split="t10k"):
    """n scenes as out_dir/scene_NNNN.png + .txt (YOLO labels)."""
    images, labels = fashion_data.load(split)
    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    for i in range(n):
        rgb, boxes = make_scene(rng, images, labels)
        write_png(os.path.join(out_dir, f"scene_{i:04d}.png"), rgb)
        with open(os.path.join(out_dir, f"scene_{i:04d}.txt"), "w") as f:
            f.write(yolo_lines(boxes))


if __name__ == "__main__":
    # python3 scenes.py OUT_DIR [N] [SEED]: held-out scenes (t10k items) for nn-tool eval-detect
    out = sys.argv[1] if len(sys.argv) > 1 else "build/detect_scenes"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 12345
    write_split(out, n, seed)
    print(f"{n} scenes in {out}")
