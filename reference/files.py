"""Uploaded files: one folder, each file at the path its upload request handed out.

An upload request reserves a path `/<random>/<filename>`; the client then PUTs the
file's bytes to the URL of that path, the way the CMA's clients PUT to S3. The
random part is the only secret of that URL, as with a presigned one.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from reference.exceptions import FileTooLargeError, ValidationError

__all__ = ["FileFacts", "Files", "is_upload_path", "new_path"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_PATH = re.compile(r"^/[0-9a-f]{32}/[A-Za-z0-9._-]{1,128}$")


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What an upload's attributes say of its file."""

    size: int
    md5: str
    mime_type: str
    filename: str

    @property
    def basename(self) -> str:
        return self.filename.rsplit(".", 1)[0] if "." in self.filename else self.filename

    @property
    def format(self) -> str | None:
        return self.filename.rsplit(".", 1)[1].lower() if "." in self.filename else None

    @property
    def is_image(self) -> bool:
        return self.mime_type.startswith("image/")


def new_path(filename: object) -> str:
    """A fresh upload path for `filename` (made safe; `file` when there is none)."""
    name = filename if isinstance(filename, str) else ""
    if filename is not None and not isinstance(filename, str):
        raise ValidationError("filename", f"must be a string, got {filename!r}")
    safe = _UNSAFE.sub("-", name.rsplit("/", 1)[-1]).strip(".-")[:128] or "file"
    return f"/{secrets.token_hex(16)}/{safe}"


def is_upload_path(path: str) -> bool:
    return bool(_PATH.match(path))


class Files:
    """The folder of uploaded files, with the size limit of one file."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes

    def location(self, path: str) -> Path:
        if not is_upload_path(path):
            raise ValidationError("path", f"not an upload path: {path!r}")
        return self.folder / path.lstrip("/")

    async def write(self, path: str, chunks: AsyncIterator[bytes]) -> int:
        """Store the file at `path` from `chunks`; nothing is left if it is too large."""
        target = self.location(path)
        partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        size = 0
        handle = await asyncio.to_thread(partial.open, "wb")
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > self.max_bytes:
                    raise FileTooLargeError(self.max_bytes)
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(os.replace, partial, target)
        except BaseException:
            handle.close()
            partial.unlink(missing_ok=True)
            raise
        return size

    async def facts(self, path: str) -> FileFacts | None:
        """Size, MD5 and type of the file at `path`; None when none was stored there."""
        target = self.location(path)
        return await asyncio.to_thread(self._facts, target)

    @staticmethod
    def _facts(target: Path) -> FileFacts | None:
        if not target.is_file():
            return None
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        with target.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
                size += len(block)
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return FileFacts(size=size, md5=digest.hexdigest(), mime_type=mime, filename=target.name)
