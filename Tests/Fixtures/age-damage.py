#!/usr/bin/env python3
"""Damages the newest encrypted archive in a folder (a pipeline step between backup and verify):
cut short, a flipped byte in the header's first stanza, in the MAC, or in payload chunk 1."""
import os, sys

mode, folder = sys.argv[1], sys.argv[2]
names = [n for n in os.listdir(folder) if n.endswith(".tar.gz.age") and not n.startswith("latest")]
path = max((os.path.join(folder, n) for n in names), key=os.path.getmtime)
data = bytearray(open(path, "rb").read())
header_end = data.index(b"\n--- ") + 1
header_end = data.index(b"\n", header_end) + 1

def swap(i):
    # Another base64 letter, so the header stays well-formed and only the MAC can tell.
    data[i] = ord("B") if data[i] == ord("A") else ord("A")

if mode == "truncate":
    del data[-100:]
elif mode == "header":
    swap(data.index(b"-> X25519 ") + 15)
elif mode == "mac":
    swap(header_end - 40)
elif mode == "chunk":
    data[header_end + 16 + 65552 + 1000] ^= 0x01
else:
    sys.exit("unknown mode " + mode)
# A new file in its place: the store may have linked latest to the same inode.
open(path + ".damaged", "wb").write(bytes(data))
os.replace(path + ".damaged", path)
