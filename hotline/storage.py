"""Attachment storage: files kept outside the static folder under random names.

The app talks to an `AttachmentStore`; the local-directory store is the only one today,
and an S3-compatible store only has to implement the same four methods.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import Flask, current_app

# Keys are generated here, never taken from a user: "ab/abcdef....jpg".
_KEY_RE = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}\.[a-z0-9]{1,5}$")


class StorageError(Exception):
    """A key is malformed or a file cannot be written or read."""


class AttachmentStore(Protocol):
    """Where attachment bytes live; rows keep only the key."""

    def save(self, data: bytes, extension: str) -> str:
        """Store DATA under a new random key ending in EXTENSION; return the key."""

    def open(self, key: str) -> BinaryIO:
        """Return a binary file object for KEY."""

    def delete(self, key: str) -> None:
        """Remove KEY (no error when it is already gone)."""

    def exists(self, key: str) -> bool:
        """Return whether KEY is stored."""


def new_key(extension: str) -> str:
    """Return a fresh random key, fanned out over 256 folders."""
    ext = re.sub(r"[^a-z0-9]", "", extension.lower())[:5] or "bin"
    name = secrets.token_hex(16)
    return f"{name[:2]}/{name}.{ext}"


class LocalStore:
    """Files under a directory on local disk (UPLOAD_DIR), outside anything served statically."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        if not _KEY_RE.match(key or ""):
            raise StorageError("malformed storage key")
        return self.root / key

    def save(self, data: bytes, extension: str) -> str:
        """Write DATA atomically (temp file then rename) under a new random key."""
        key = new_key(extension)
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        try:
            with open(tmp, "xb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"could not store attachment: {exc.strerror}") from exc
        return key

    def open(self, key: str) -> BinaryIO:
        """Open KEY for reading."""
        try:
            return open(self._path(key), "rb")
        except OSError as exc:
            raise StorageError(f"attachment not readable: {exc.strerror}") from exc

    def delete(self, key: str) -> None:
        """Remove KEY if present."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Return whether KEY is stored."""
        return self._path(key).is_file()


def init_storage(app: Flask) -> None:
    """Create the app's store from UPLOAD_DIR, refusing a directory inside the static folder."""
    root = Path(app.config["UPLOAD_DIR"]).resolve()
    static = Path(app.static_folder or "").resolve()
    if app.static_folder and (root == static or static in root.parents):
        raise RuntimeError("UPLOAD_DIR must not be inside the static folder")
    app.extensions["hotline_storage"] = LocalStore(root)


def get_store() -> AttachmentStore:
    """Return the current app's attachment store."""
    store = current_app.extensions.get("hotline_storage")
    if store is None:
        init_storage(current_app)
        store = current_app.extensions["hotline_storage"]
    return store
