#!/usr/bin/env python3
"""The benchmarks' test tree: N small text files spread over 100 directories (sizes 7 B to ~600 B).
Usage: python3 Examples/make-tree.py DIR N"""
import os
import sys

root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%03d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "w") as f:
        f.write(("file %d\n" % i) * (1 + i % 50))
