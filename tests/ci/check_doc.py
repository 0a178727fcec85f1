#!/usr/bin/env python3
"""check_doc.py - docs/ci.md shows the tested examples verbatim.

usage: check_doc.py [--update] DOC PATH...

For each PATH (relative to the repository), DOC must hold a line
`<!-- example: PATH -->` followed by a fenced code block whose body is
exactly the file's text. Exit 1 naming the first example that differs.
--update rewrites those blocks in DOC from the files instead.
"""
import os
import re
import sys


def main():
    args = sys.argv[1:]
    update = bool(args) and args[0] == "--update"
    if update:
        args = args[1:]
    doc_path, paths = args[0], args[1:]
    root = os.path.dirname(os.path.dirname(os.path.abspath(doc_path)))
    doc = open(doc_path, encoding="utf-8").read()
    for p in paths:
        m = re.search(r"<!-- example: " + re.escape(p) + r" -->\n(`{3,})[^\n]*\n(.*?)^\1$",
                      doc, re.S | re.M)
        if not m:
            sys.exit(f"{doc_path}: no example block for {p}")
        want = open(os.path.join(root, p), encoding="utf-8").read()
        if update:
            doc = doc[:m.start(2)] + want + doc[m.end(2):]
            continue
        if m.group(2) != want:
            sys.exit(f"{doc_path}: the example for {p} differs from the file")
    if update:
        with open(doc_path, "w", encoding="utf-8") as f:
            f.write(doc)
        print(f"{doc_path}: {len(paths)} example(s) updated")
        return
    print(f"{doc_path}: {len(paths)} example(s) match")


if __name__ == "__main__":
    main()
