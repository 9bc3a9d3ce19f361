"""Upload checks: a document's type is judged from its bytes, never from its name or the client's word."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

import filetype
from django.conf import settings
from django.utils.translation import gettext as _

from claimwise.core.errors import DomainError, ErrorCode

ALLOWED = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/tiff": "tif",
}


@dataclass(frozen=True)
class CheckedFile:
    content_type: str
    extension: str
    size: int
    sha256: str


def check_upload(stream: IO[bytes], *, declared_size: int | None = None) -> CheckedFile:
    """Reads the stream once: size limit, type from the magic bytes, SHA-256. Rewinds it."""
    limit = settings.DOCUMENT_MAX_BYTES
    if declared_size is not None and declared_size > limit:
        raise _too_large(limit)
    stream.seek(0)
    head = stream.read(8192)
    if not head:
        raise DomainError(_("The file is empty; attach the scan or photo again."), code=ErrorCode.UNSUPPORTED_FILE)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in ALLOWED:
        raise DomainError(
            _("Only PDF, JPEG, PNG, WebP, HEIC and TIFF files are accepted; this file type is not supported."),
            code=ErrorCode.UNSUPPORTED_FILE,
            detail={"detected": kind.mime if kind else None},
        )
    digest = hashlib.sha256(head)
    size = len(head)
    for chunk in iter(lambda: stream.read(1 << 16), b""):
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        digest.update(chunk)
    stream.seek(0)
    if kind.mime in DECODABLE:
        _check_readable(stream)
    return CheckedFile(kind.mime, ALLOWED[kind.mime], size, digest.hexdigest())


# Images Pillow decodes; HEIC needs a plugin the platform does not ship, so it is taken on its header.
DECODABLE = frozenset({"image/jpeg", "image/png", "image/webp", "image/tiff"})


def _check_readable(stream: IO[bytes]) -> None:
    """A photo that will not open is refused now, not discovered by a handler days later. Pillow
    reads the whole image (truncated or corrupt data fails) and refuses decompression bombs."""
    from PIL import Image

    try:
        with Image.open(stream) as image:
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DomainError(
            _("The image cannot be read: it may be damaged or cut off. Take or scan it again."),
            code=ErrorCode.UNSUPPORTED_FILE,
            detail={"reason": str(exc)[:200]},
        ) from exc
    finally:
        stream.seek(0)


def _too_large(limit: int) -> DomainError:
    return DomainError(
        _("The file is larger than %(mb)s MB; send a smaller scan or photo.") % {"mb": limit // (1024 * 1024)},
        code=ErrorCode.FILE_TOO_LARGE,
        detail={"max_bytes": limit},
    )
