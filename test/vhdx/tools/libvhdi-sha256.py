"""Reads a VHDX differencing chain with libvhdi (an independent implementation) and prints the sha256
of the whole virtual disk. Usage: libvhdi-sha256.py TOP [PARENT ...BASE]  (top layer first)."""
import hashlib
import sys

import pyvhdi


def main() -> None:
    paths = sys.argv[1:]
    files = []
    for path in paths:
        f = pyvhdi.file()
        f.open(path)
        files.append(f)
    # libvhdi needs each parent handed to it explicitly, base first so every parent is complete.
    for child, parent in reversed(list(zip(files, files[1:]))):
        child.set_parent(parent)
    top = files[0]
    size = top.get_media_size()
    digest = hashlib.sha256()
    offset = 0
    chunk = 4 * 1024 * 1024
    while offset < size:
        n = min(chunk, size - offset)
        data = top.read_buffer_at_offset(n, offset)
        if len(data) != n:
            raise SystemExit(f"short read at {offset}: {len(data)} of {n}")
        digest.update(data)
        offset += n
    print(digest.hexdigest())


main()
