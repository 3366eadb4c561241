"""A minimal PNG reader (8-bit RGB/RGBA, not interlaced: what Chromium's screenshots are), standard library only."""
from __future__ import annotations

import struct
import zlib
from collections import Counter
from pathlib import Path


def _unfilter(kind: int, row: bytearray, prior: bytes, step: int) -> None:
    if kind == 1:
        for i in range(step, len(row)):
            row[i] = (row[i] + row[i - step]) & 0xFF
    elif kind == 2:
        for i in range(len(row)):
            row[i] = (row[i] + prior[i]) & 0xFF
    elif kind == 3:
        for i in range(len(row)):
            row[i] = (row[i] + ((row[i - step] if i >= step else 0) + prior[i]) // 2) & 0xFF
    elif kind == 4:
        for i in range(len(row)):
            a = row[i - step] if i >= step else 0
            b, c = prior[i], prior[i - step] if i >= step else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF


def colours(path: Path) -> Counter:
    """How many pixels of each (r, g, b) colour the image has."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and not interlace, header
    step = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * step
    prior, counts = bytes(stride), Counter()
    for y in range(height):
        start = y * (stride + 1)
        row = bytearray(raw[start + 1:start + 1 + stride])
        _unfilter(raw[start], row, prior, step)
        counts.update(zip(row[0::step], row[1::step], row[2::step], strict=False))
        prior = bytes(row)
    return counts


def share_near(counts: Counter, colour: tuple[int, int, int], tolerance: int = 6) -> float:
    """The share of pixels within `tolerance` of `colour` on every channel."""
    near = sum(n for c, n in counts.items() if all(abs(a - b) <= tolerance for a, b in zip(c, colour, strict=True)))
    return near / sum(counts.values())
