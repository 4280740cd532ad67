"""Media files of the demo sites: small, valid, deterministic, and never to be fetched.

Pages reference images and archives the way real markets do; the crawler must
never request them (tests read the demo server's peer log to prove it).  The
files still exist and are valid so that a request for one would succeed and be
visible.

* :func:`media_bytes` ``(path) -> bytes`` -- a tiny grey baseline JPEG for image
  paths, a stored (uncompressed, fixed-date) ZIP for ``.zip`` paths.

Pure; raises ValueError for an extension it does not make.
"""

from __future__ import annotations

import io
import zipfile


def _tiny_jpeg() -> bytes:
    """An 8x8 mid-grey baseline JPEG: one block, DC difference 0, end-of-block."""
    segments = [
        b"\xff\xd8",  # start of image
        b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
        b"\xff\xdb\x00\x43\x00" + b"\x01" * 64,  # quantisation table 0, all ones
        b"\xff\xc0\x00\x0b\x08\x00\x08\x00\x08\x01\x01\x11\x00",  # 8x8, one component
        # One-code Huffman tables: DC symbol 0 (size 0) and AC symbol 0 (end of block).
        b"\xff\xc4\x00\x14\x00" + b"\x01" + b"\x00" * 15 + b"\x00",
        b"\xff\xc4\x00\x14\x10" + b"\x01" + b"\x00" * 15 + b"\x00",
        b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00",  # start of scan
        b"\x3f",  # bits 0 (DC) 0 (EOB), padded with ones
        b"\xff\xd9",  # end of image
    ]
    return b"".join(segments)


def _stored_zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        info = zipfile.ZipInfo(name, date_time=(2025, 11, 20, 12, 0, 0))
        info.external_attr = 0o644 << 16
        archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


def media_bytes(path: str) -> bytes:
    """The file served at media ``path`` (by its extension)."""
    lowered = path.lower()
    if lowered.endswith((".jpg", ".jpeg")):
        return _tiny_jpeg()
    if lowered.endswith(".zip"):
        return _stored_zip("pricelist.txt", "Demo price list. This archive is a crawler trap: never fetch media.\n")
    raise ValueError(f"the demo world has no media of type {path!r}")
