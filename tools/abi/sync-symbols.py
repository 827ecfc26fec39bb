#!/usr/bin/python3
"""Add every NN_API function of include/nn.h that lib/nn.map and
docs/symbols.md do not list yet: to the map's newest version node and as a
row of the docs table (with the header section it is declared in). Run it
after adding API, then review the diff; check-symbols.py verifies the result.

usage: sync-symbols.py [SOURCE_DIR]
"""
import os
import re
import sys


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    header = open(os.path.join(root, "include", "nn.h")).read()
    sections = []  # (offset, title) of "/* ---- Title ---- */" banners
    for m in re.finditer(r"/\* -{3,} (.+?) -+ \*/", header):
        sections.append((m.start(), m.group(1).strip()))
    symbols = []
    for m in re.finditer(r"^NN_API\b[^;(]*?\b(nn_\w+)\s*\(", header, re.M):
        area = ""
        for off, title in sections:
            if off < m.start():
                area = title
        symbols.append((m.group(1), area))
    map_path = os.path.join(root, "lib", "nn.map")
    text = open(map_path).read()
    listed = set(re.findall(r"\b(nn_\w+);", re.sub(r"/\*.*?\*/", "", text, flags=re.S)))
    missing = [s for s, _ in symbols if s not in listed]
    if missing:
        # insert before the last "local:" (NN_1.0) or the newest node's closing
        idx = text.rfind("  local:")
        if idx < 0:
            idx = text.rfind("}")
        text = text[:idx] + "".join(f"    {s};\n" for s in missing) + text[idx:]
        open(map_path, "w").write(text)
    docs_path = os.path.join(root, "docs", "symbols.md")
    docs = open(docs_path).read()
    rows = set(re.findall(r"^\| `(nn_\w+)` \|", docs, re.M))
    add = [(s, a) for s, a in symbols if s not in rows]
    if add:
        if not docs.endswith("\n"):
            docs += "\n"
        docs += "".join(f"| `{s}` | 1.0 | {a} |\n" for s, a in add)
        open(docs_path, "w").write(docs)
    print(f"sync-symbols: {len(missing)} added to lib/nn.map, {len(add)} added to docs/symbols.md")


if __name__ == "__main__":
    main()
