#!/usr/bin/python3
"""Keep the exported API's four descriptions in agreement:

  include/nn.h       NN_API function declarations (+ optional `@since X.Y`
                     in the doc comment right above one; default 1.0)
  lib/nn.map         the linker version script: explicit names per NN_X.Y node
  docs/symbols.md    a table row per symbol with the version it appeared in
  libnn.so (nm -D)   the built library's defined dynamic symbols and their
                     version nodes (skipped when no shared library is given;
                     $NM names the nm to use, e.g. a cross nm)

usage: check-symbols.py SOURCE_DIR [LIBNN_SO]
Exit 0 with a summary line when all agree, 1 with the differences otherwise.
"""
import os
import re
import subprocess
import sys


def header_symbols(path):
    text = open(path).read()
    out = {}
    for m in re.finditer(r"^NN_API\b[^;(]*?\b(nn_\w+)\s*\(", text, re.M):
        name = m.group(1)
        before = text[:m.start()].rstrip()
        since = "1.0"
        if before.endswith("*/"):
            doc = before[before.rfind("/*"):]
            s = re.search(r"@since\s+(\d+\.\d+)", doc)
            if s and not doc.startswith("/*\n * nn.h"):  # the file's header comment sets the default
                since = s.group(1)
        if name in out:
            raise SystemExit("nn.h declares %s twice" % name)
        out[name] = since
    return out


def map_symbols(path, errors):
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    out = {}
    nodes = []
    for m in re.finditer(r"(NN_(\d+)\.(\d+))\s*\{(.*?)\}\s*(NN_[\d.]+)?\s*;", text, re.S):
        node, body, parent = m.group(1), m.group(4), m.group(5)
        ver = "%s.%s" % (m.group(2), m.group(3))
        if nodes and parent != nodes[-1]:
            errors.append("nn.map: node %s must inherit the previous node %s" % (node, nodes[-1]))
        if not nodes and parent:
            errors.append("nn.map: the first node %s inherits %s" % (node, parent))
        nodes.append(node)
        section = None
        for tok in re.findall(r"[\w*.]+:|[^\s;]+", body):
            if tok.endswith(":"):
                section = tok[:-1]
                continue
            if section == "local":
                if tok != "*" or node != nodes[0]:
                    errors.append("nn.map: unexpected local entry %r in %s" % (tok, node))
                continue
            if any(c in tok for c in "*?["):
                errors.append("nn.map: glob %r in %s (list names explicitly)" % (tok, node))
                continue
            if tok in out:
                errors.append("nn.map: %s is listed in %s and NN_%s" % (tok, node, out[tok]))
            out[tok] = ver
    if not nodes:
        errors.append("nn.map: no version node found")
    return out


def doc_symbols(path, errors):
    out = {}
    for line in open(path):
        m = re.match(r"\|\s*`(nn_\w+)`\s*\|\s*(\d+\.\d+)\s*\|", line)
        if m:
            if m.group(1) in out:
                errors.append("symbols.md lists %s twice" % m.group(1))
            out[m.group(1)] = m.group(2)
    return out


def library_symbols(so, errors):
    r = subprocess.run([os.environ.get("NM") or "nm", "-D", "--defined-only", so], capture_output=True, text=True, check=True)
    out = {}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, sym = parts[1], parts[2]
        name, _, ver = sym.partition("@")
        ver = ver.lstrip("@")
        if kind == "A" and re.fullmatch(r"NN_\d+\.\d+", name):
            continue  # the version node definitions themselves
        if not name.startswith("nn_"):
            errors.append("%s exports a non-nn symbol: %s" % (so, sym))
            continue
        if not ver.startswith("NN_"):
            errors.append("%s: %s has no version node" % (so, name))
            continue
        out[name] = ver[3:]
    return out


def compare(a_name, a, b_name, b, errors):
    for s in sorted(set(a) - set(b)):
        errors.append("%s in %s but not in %s" % (s, a_name, b_name))
    for s in sorted(set(a) & set(b)):
        if a[s] != b[s]:
            errors.append("%s: version %s in %s but %s in %s" % (s, a[s], a_name, b[s], b_name))


def main():
    src = sys.argv[1]
    so = sys.argv[2] if len(sys.argv) > 2 else None
    errors = []
    hdr = header_symbols(src + "/include/nn.h")
    mp = map_symbols(src + "/lib/nn.map", errors)
    doc = doc_symbols(src + "/docs/symbols.md", errors)
    compare("nn.h", hdr, "nn.map", mp, errors)
    compare("nn.map", mp, "nn.h", hdr, errors)
    compare("nn.h", hdr, "docs/symbols.md", doc, errors)
    compare("docs/symbols.md", doc, "nn.h", hdr, errors)
    checked = "nn.h, nn.map, docs/symbols.md"
    if so:
        lib = library_symbols(so, errors)
        compare("nn.map", mp, "nm -D", lib, errors)
        compare("nm -D", lib, "nn.map", mp, errors)
        checked += ", nm -D " + so.rsplit("/", 1)[-1]
    for e in errors:
        print("symbols: " + e)
    if errors:
        print("symbols: %d problem(s). A new function needs its name in lib/nn.map (the node of the"
              " release it appears in), a row in docs/symbols.md and, for the Python bindings, a"
              " prototype in bindings/python/nn/_lib.py; then tools/abi/update-baseline.sh" % len(errors))
        return 1
    print("symbols: %d functions agree across %s" % (len(hdr), checked))
    return 0


if __name__ == "__main__":
    sys.exit(main())
