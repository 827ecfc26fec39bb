#!/usr/bin/python3
"""Write the image test data check_image.c reads (test/data/images/).

    /usr/bin/python3 tools/testdata/make_images.py test/data/images

For every PNG/JPEG mode nn decodes, a file plus Pillow's decoding of it as a
reference (`<name>.ref`); Pillow's BILINEAR/NEAREST resizes of a few images;
float-mode (mode "F") Pillow resizes with a source box for the preprocessing
fits; bad files (truncated, corrupt, not an image, too many pixels, zero
size); two tiny classifier models. PNGs come from Pillow's encoder where it
has the mode, else from the small PNG writer below (Pillow cannot write
interlaced PNGs, 2-bit gray or 16-bit colour): either way Pillow (python3-pil)
decodes the reference.

Reference format (`.ref`): one ASCII line "nnref W H C TYPE\\n" (TYPE u8,
u16 or f32) then W*H*C samples, row-major, interleaved, little-endian.
Where Pillow reduces 16-bit colour to 8 bits (most significant byte) the
reference is u8 and the test compares nn's 16-bit samples >> 8.
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/data/images"


# ---- content -------------------------------------------------------------

def pattern(w, h, c, bits=8, seed=0):
    """Smooth gradients plus noise and a few hard edges, c channels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    maxv = (1 << bits) - 1
    planes = []
    for k in range(c):
        p = 0.5 + 0.35 * np.sin(x / (3.0 + k) + y / (5.0 + 2 * k)) + 0.1 * ((x + 2 * y + 7 * k) % 11 > 5)
        p += 0.05 * rng.standard_normal((h, w))
        planes.append(np.clip(p, 0, 1) * maxv)
    a = np.rint(np.stack(planes, -1)).astype(np.uint16 if bits == 16 else np.uint8)
    return a if c > 1 else a[:, :, 0]


# ---- a small PNG writer (all filters, Adam7, any bit depth) --------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_row(row, depth):
    """A row of samples (1-D int array) to bytes at `depth` bits."""
    if depth == 16:
        return row.astype(">u2").tobytes()
    if depth == 8:
        return row.astype(np.uint8).tobytes()
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(row), per):
        b = 0
        for j in range(per):
            v = int(row[i + j]) if i + j < len(row) else 0
            b |= v << (8 - depth * (j + 1))
        out.append(b)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def filter_rows(rows, bpp):
    """Filter each row with a different filter type (0..4 in turn)."""
    out = bytearray()
    prev = bytes(len(rows[0])) if rows else b""
    for i, r in enumerate(rows):
        ft = i % 5
        f = bytearray()
        for j, v in enumerate(r):
            a = r[j - bpp] if j >= bpp else 0
            b = prev[j]
            c = prev[j - bpp] if j >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
            f.append((v - pred) & 0xFF)
        out += bytes([ft]) + f
        prev = r
    return bytes(out)


def write_png(path, samples, depth, color_type, interlace=False, palette=None, trns=None):
    """samples: [h, w] or [h, w, c] ints; color_type per the PNG spec."""
    a = samples if samples.ndim == 3 else samples[:, :, None]
    h, w, c = a.shape
    bpp = max(1, c * depth // 8)

    def image_rows(img):
        return [pack_row(img[y].reshape(-1), depth) for y in range(img.shape[0])]

    if interlace:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            sub = a[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += filter_rows(image_rows(sub), bpp)
    else:
        data = filter_rows(image_rows(a), bpp)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    png += chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(png)


# ---- references ----------------------------------------------------------

def write_ref(path, arr):
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    kind = {np.dtype(np.uint8): "u8", np.dtype(np.uint16): "u16", np.dtype(np.float32): "f32"}[arr.dtype]
    h, w, c = arr.shape
    with open(path, "wb") as f:
        f.write(f"nnref {w} {h} {c} {kind}\n".encode())
        f.write(arr.astype(arr.dtype.newbyteorder("<")).tobytes())


def pillow_pixels(path):
    """What nn must decode, per Pillow: P -> RGB(A), 1 -> L, I (16-bit gray) -> u16."""
    im = Image.open(path)
    im.load()
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    elif im.mode == "CMYK":
        im = im.convert("RGB")
    if im.mode in ("I", "I;16", "I;16B"):
        return np.asarray(im).astype(np.uint16)
    return np.asarray(im)


def ref_for(name, arr=None):
    path = os.path.join(OUT, name)
    write_ref(os.path.splitext(path)[0] + ".ref", pillow_pixels(path) if arr is None else arr)


# ---- the decode set --------------------------------------------------------

def png_files():
    W, H = 37, 29  # odd sizes: partial Adam7 blocks, partial bytes at low depths
    Image.fromarray(pattern(W, H, 1)).save(os.path.join(OUT, "gray8.png"))
    Image.fromarray(pattern(W, H, 2), "LA").save(os.path.join(OUT, "gray_alpha8.png"))
    Image.fromarray(pattern(W, H, 3)).save(os.path.join(OUT, "rgb8.png"))
    Image.fromarray(pattern(W, H, 4)).save(os.path.join(OUT, "rgba8.png"))
    Image.fromarray(pattern(W, H, 3)).quantize(37).save(os.path.join(OUT, "palette8.png"))
    write_png(os.path.join(OUT, "gray16.png"), pattern(W, H, 1, 16, 1), 16, 0)
    write_png(os.path.join(OUT, "gray_alpha16.png"), pattern(W, H, 2, 16, 2), 16, 4)
    write_png(os.path.join(OUT, "rgb16.png"), pattern(W, H, 3, 16, 3), 16, 2)
    write_png(os.path.join(OUT, "rgba16.png"), pattern(W, H, 4, 16, 4), 16, 6)
    write_png(os.path.join(OUT, "gray1.png"), pattern(W, H, 1, 8, 5) >> 7, 1, 0)
    write_png(os.path.join(OUT, "gray2.png"), pattern(W, H, 1, 8, 6) >> 6, 2, 0)
    write_png(os.path.join(OUT, "gray4.png"), pattern(W, H, 1, 8, 7) >> 4, 4, 0)
    pal = np.random.default_rng(8).integers(0, 256, (16, 3))
    write_png(os.path.join(OUT, "palette4.png"), pattern(W, H, 1, 8, 9) >> 4, 4, 3, palette=pal)
    trns = bytes(np.arange(0, 256, 16, dtype=np.uint8))
    write_png(os.path.join(OUT, "palette4_trns.png"), pattern(W, H, 1, 8, 10) >> 4, 4, 3, palette=pal, trns=trns)
    write_png(os.path.join(OUT, "gray8_interlaced.png"), pattern(W, H, 1, 8, 11), 8, 0, interlace=True)
    write_png(os.path.join(OUT, "rgb8_interlaced.png"), pattern(W, H, 3, 8, 12), 8, 2, interlace=True)
    write_png(os.path.join(OUT, "rgba16_interlaced.png"), pattern(W, H, 4, 16, 13), 16, 6, interlace=True)
    write_png(os.path.join(OUT, "palette4_interlaced.png"), pattern(W, H, 1, 8, 14) >> 4, 4, 3, palette=pal,
              interlace=True)
    names = ["gray8", "gray_alpha8", "rgb8", "rgba8", "palette8", "gray16", "gray_alpha16", "rgb16", "rgba16",
             "gray1", "gray2", "gray4", "palette4", "palette4_trns", "gray8_interlaced", "rgb8_interlaced",
             "rgba16_interlaced", "palette4_interlaced"]
    for n in names:
        ref_for(n + ".png")
    return names


def jpeg_files():
    W, H = 45, 31  # not multiples of the 8/16-pixel MCU
    rgb = Image.fromarray(pattern(W, H, 3, 8, 20))
    rgb.save(os.path.join(OUT, "baseline420.jpg"), quality=90)
    rgb.save(os.path.join(OUT, "baseline444.jpg"), quality=90, subsampling=0)
    rgb.save(os.path.join(OUT, "baseline422.jpg"), quality=75, subsampling=1)
    rgb.save(os.path.join(OUT, "progressive.jpg"), quality=85, progressive=True)
    rgb.save(os.path.join(OUT, "optimized.jpg"), quality=80, optimize=True)
    Image.fromarray(pattern(W, H, 1, 8, 21)).save(os.path.join(OUT, "gray.jpg"), quality=90)
    Image.fromarray(pattern(W, H, 1, 8, 22)).save(os.path.join(OUT, "gray_progressive.jpg"), quality=90,
                                                   progressive=True)
    Image.fromarray(pattern(W, H, 4, 8, 23), "CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=90)
    names = ["baseline420", "baseline444", "baseline422", "progressive", "optimized", "gray", "gray_progressive", "cmyk"]
    for n in names:
        ref_for(n + ".jpg")
    # EXIF orientations: the reference is Pillow's exif_transpose of the stored pixels
    small = Image.fromarray(pattern(13, 7, 3, 8, 24))  # wide and short: every orientation differs
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        name = f"exif{o}.jpg"
        small.save(os.path.join(OUT, name), quality=95, exif=exif.tobytes())
        im = Image.open(os.path.join(OUT, name))
        ref_for(name, np.asarray(ImageOps.exif_transpose(im).convert("RGB")))
        names.append(f"exif{o}")
    return names


# ---- resizes ----------------------------------------------------------------

RESIZES = [(17, 11), (12, 29), (80, 61), (37, 5), (1, 1), (64, 48), (100, 13)]


def resize_refs():
    """Pillow resizes of two decoded sources: BILINEAR and NEAREST, 8-bit results."""
    out = []
    for src in ("rgb8.png", "gray8.png"):
        im = Image.open(os.path.join(OUT, src))
        for w, h in RESIZES:
            for filt, fname in ((Image.BILINEAR, "bilinear"), (Image.NEAREST, "nearest")):
                name = f"resize_{os.path.splitext(src)[0]}_{w}x{h}_{fname}"
                write_ref(os.path.join(OUT, name + ".ref"), np.asarray(im.resize((w, h), filt)))
                out.append(name)
    return out


def fit_refs():
    """Float (mode F, 0-255) references for the preprocessing fits of gray8.png to 20x16."""
    im = Image.open(os.path.join(OUT, "gray8.png")).convert("F")
    iw, ih = im.size
    W, H = 20, 16
    # stretch
    write_ref(os.path.join(OUT, "fit_stretch.ref"), np.asarray(im.resize((W, H), Image.BILINEAR), np.float32))
    # center-crop: cover W x H, then the centred box of the source
    for frac, tag in ((1.0, "center_crop"), (0.75, "center_crop75")):
        s = max(W / iw, H / ih) / frac
        bw, bh = W / s, H / s
        box = ((iw - bw) / 2, (ih - bh) / 2, (iw + bw) / 2, (ih + bh) / 2)
        write_ref(os.path.join(OUT, f"fit_{tag}.ref"),
                  np.asarray(im.resize((W, H), Image.BILINEAR, box=box), np.float32))
    # letterbox: fit inside, centred, pad 114
    s = min(W / iw, H / ih)
    nw, nh = max(1, min(W, round(iw * s))), max(1, min(H, round(ih * s)))
    canvas = Image.new("F", (W, H), 114.0)
    canvas.paste(im.resize((nw, nh), Image.BILINEAR), ((W - nw) // 2, (H - nh) // 2))
    write_ref(os.path.join(OUT, "fit_letterbox.ref"), np.asarray(canvas, np.float32))


# ---- bad files --------------------------------------------------------------

def bad_files():
    def raw(name):
        with open(os.path.join(OUT, name), "rb") as f:
            return f.read()

    def put(name, data):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)

    png, jpg = raw("rgb8.png"), raw("baseline420.jpg")
    put("bad_truncated.png", png[: len(png) // 2])
    put("bad_truncated.jpg", jpg[: len(jpg) // 2])
    # a flipped byte inside IDAT: the chunk CRC no longer matches
    i = png.index(b"IDAT") + 20
    put("bad_crc.png", png[:i] + bytes([png[i] ^ 0x55]) + png[i + 1:])
    # a DQT segment whose length runs past the table (libjpeg: bogus marker length)
    i = jpg.index(b"\xff\xdb")
    put("bad_marker.jpg", jpg[: i + 2] + b"\x00\x01" + jpg[i + 4:])
    put("bad_notimage.txt", b"This is not an image, just text.\n" * 4)
    put("bad_fake.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 8)
    put("bad_empty.png", b"")
    # headers that claim 100000 x 100000 pixels (10 gigapixels)
    big = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
    put("bad_huge.png", big + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    put("bad_huge.jpg", patch_sof(jpg, 60000, 60000))
    # zero width / zero height
    zero = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 16, 8, 0, 0, 0, 0))
    put("bad_zero.png", zero + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    put("bad_zero.jpg", patch_sof(jpg, 45, 0))
    # 12-bit samples: valid JPEG, but libjpeg-turbo's 8-bit API does not decode them
    i = jpg.index(b"\xff\xc0")
    put("bad_precision12.jpg", jpg[: i + 4] + b"\x0c" + jpg[i + 5:])


def patch_sof(jpg, w, h):
    i = jpg.index(b"\xff\xc0")  # baseline SOF0: FF C0 len(2) precision(1) height(2) width(2)
    return jpg[: i + 5] + struct.pack(">HH", h, w) + jpg[i + 9:]


# ---- tiny classifier models -------------------------------------------------

def models():
    import onnx
    from onnx import TensorProto, helper

    def save(nodes, name, meta, out_shape):
        g = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="nn-testdata")
        m.ir_version = 8
        for k, v in meta.items():
            m.metadata_props.add(key=k, value=v)
        onnx.save(m, os.path.join(OUT, name + ".onnx"))

    meta = {"nn.labels": "zero\none\ntwo\nthree\n", "nn.input.color": "GRAY", "nn.input.mean": "0.5",
            "nn.input.std": "0.25"}
    # scores = the 4 normalised pixels of a 4x1 gray image
    save([helper.make_node("Identity", ["x"], ["y"])], "classify_identity", meta, ["N", 1, 1, 4])
    bad = dict(meta, **{"nn.labels": "a\nb\nc"})
    save([helper.make_node("Identity", ["x"], ["y"])], "classify_badlabels", bad, ["N", 1, 1, 4])
    # the same ending in Softmax: nn_classify must not apply a second one
    save([helper.make_node("Softmax", ["x"], ["y"], axis=-1)], "classify_softmax", meta, ["N", 1, 1, 4])
    odd = dict(meta, **{"nn.input.mean": "0.1,0.2", "nn.input.color": "GRAY"})
    save([helper.make_node("Identity", ["x"], ["y"])], "classify_badmeta", odd, ["N", 1, 1, 4])


def main():
    os.makedirs(OUT, exist_ok=True)
    png_files()
    jpeg_files()
    resize_refs()
    fit_refs()
    bad_files()
    models()


if __name__ == "__main__":
    main()
