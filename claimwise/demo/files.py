"""Tiny but real document files for the demo data: a one-page PDF, a baseline JPEG and a PNG, built
in code (no image library, nothing downloaded). Each is accepted by `claims.documents.check_upload`,
which also gives the content type, size and SHA-256 stored on the Document rows.

Most seeded Document rows point at a few shared files (same SHA-256), so 100,000 claims do not
write 200,000 files but every row is still downloadable.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import Storage

from claimwise.claims.documents import CheckedFile, check_upload

# --- PDF ------------------------------------------------------------------------------------------


def pdf_bytes(lines: list[str]) -> bytes:
    """A valid one-page PDF 1.4 (A4) with the given ASCII lines in Helvetica and a correct xref."""

    def esc(text: str) -> str:
        text = text.encode("ascii", "replace").decode()
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 14 Tf 72 770 Td 18 TL " + " ".join(f"({esc(line)}) '" for line in lines) + " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


# --- PNG ------------------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int = 96, height: int = 64, *, tint: int = 0, text: str = "") -> bytes:
    """An RGB gradient (a 'screenshot'), optionally with a tEXt comment that makes it unique."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            rows += bytes(((x * 255 // width + tint) % 256, (y * 255 // height) % 256, (160 + tint) % 256))
    body = _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if text:
        body += _chunk(b"tEXt", b"Comment\x00" + text.encode("ascii", "replace"))
    body += _chunk(b"IDAT", zlib.compress(bytes(rows), 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


# --- JPEG -----------------------------------------------------------------------------------------

# Annex K luminance DC table (categories 0..11); the AC table only needs end-of-block.
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
_AC_BITS = (1,) + (0,) * 15
_AC_VALUES = (0,)


def _huffman_codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    codes, code, k = {}, 0, 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def write(self, value: int, length: int) -> None:
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)  # byte stuffing
                self.acc = self.n = 0

    def flush(self) -> bytes:
        if self.n:
            self.write((1 << (8 - self.n)) - 1, 8 - self.n)  # pad with ones
        return bytes(self.out)


def jpeg_bytes(blocks_x: int = 12, blocks_y: int = 8, *, tint: int = 0, text: str = "") -> bytes:
    """A baseline greyscale JPEG made of flat 8x8 blocks (a soft diagonal gradient): only DC
    coefficients, so a few lines of Huffman coding make a file any decoder reads."""
    dc_codes = _huffman_codes(_DC_BITS, _DC_VALUES)
    eob = _huffman_codes(_AC_BITS, _AC_VALUES)[0]
    bits = _BitWriter()
    previous = 0
    for by in range(blocks_y):
        for bx in range(blocks_x):
            level = 40 + (bx * 9 + by * 11 + tint) % 180  # grey level of the block, 0..255
            dc = level - 128  # quantiser 8 on an 8x8 DCT: DC coefficient / 8 == mean - 128
            diff, previous = dc - previous, dc
            size = abs(diff).bit_length()
            code, length = dc_codes[size]
            bits.write(code, length)
            if size:
                bits.write(diff if diff > 0 else diff + (1 << size) - 1, size)
            bits.write(*eob)
    scan = bits.flush()

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    height, width = blocks_y * 8, blocks_x * 8
    out = b"\xff\xd8"
    out += segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if text:
        out += segment(0xFE, text.encode("ascii", "replace"))
    out += segment(0xDB, b"\x00" + bytes([8] + [16] * 63))
    out += segment(0xC0, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    out += segment(0xC4, b"\x00" + bytes(_DC_BITS) + bytes(_DC_VALUES))
    out += segment(0xC4, b"\x10" + bytes(_AC_BITS) + bytes(_AC_VALUES))
    out += segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return out + scan + b"\xff\xd9"


# --- storing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredFile:
    name: str  # storage name, what Document.file holds
    checked: CheckedFile


def make_file(kind: str, *, label: str = "", variant: int = 0) -> bytes:
    """`kind` is pdf, jpeg or png; `label` goes into the file (so its hash is its own)."""
    if kind == "pdf":
        return pdf_bytes(["Claimwise demo document", label or "sample", "This file was generated by claimwise seed."])
    if kind == "jpeg":
        return jpeg_bytes(tint=variant * 37, text=label)
    if kind == "png":
        return png_bytes(tint=variant * 53, text=label)
    raise ValueError(kind)


def store(storage: Storage, name: str, data: bytes) -> StoredFile:
    """Check the bytes the way uploads are checked, then save them (an existing identical file under
    the same name is reused, so a second seed run writes nothing new)."""
    checked = check_upload(io.BytesIO(data))
    if storage.exists(name):
        with storage.open(name, "rb") as existing:
            if existing.read() == data:
                return StoredFile(name, checked)
    saved = storage.save(name, ContentFile(data))
    return StoredFile(saved, checked)


def shared_files(storage: Storage) -> dict[str, StoredFile]:
    """The three shared sample files, by kind."""
    result = {}
    for kind, ext in (("pdf", "pdf"), ("jpeg", "jpg"), ("png", "png")):
        data = make_file(kind, label="shared sample")
        result[kind] = store(storage, f"claims/seed/sample-{kind}.{ext}", data)
    return result
