"""The photo the demo's caller can text: a small PNG drawn here (a dripping pipe), so the demo
ships no image file and needs nothing from the network."""

from __future__ import annotations

import struct
import zlib
from functools import cache

WIDTH, HEIGHT = 240, 180
WALL = (222, 214, 199)
PIPE = (120, 128, 138)
JOINT = (92, 98, 107)
WATER = (58, 134, 214)
PUDDLE = (96, 160, 226)


def _pixel(x: int, y: int) -> tuple[int, int, int]:
    if 60 <= y < 84 and 0 <= x < WIDTH:  # the pipe, with a joint where it leaks
        return JOINT if 104 <= x < 136 else PIPE
    # A drop under the joint: a circle with a point on top.
    cx, cy, r = 120, 126, 12
    if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
        return WATER
    if 92 <= y < cy and abs(x - cx) <= (y - 92) * r // (cy - 92):
        return WATER
    if y >= 160 and ((x - 120) / 70) ** 2 + ((y - 168) / 8) ** 2 <= 1:  # the puddle
        return PUDDLE
    return WALL


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


@cache
def png() -> bytes:
    rows = b"".join(
        b"\x00" + bytes(c for x in range(WIDTH) for c in _pixel(x, y)) for y in range(HEIGHT)
    )
    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )
