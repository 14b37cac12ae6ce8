"""Face embeddings encrypted at rest, with a key that is not in the database.

The key is a Fernet key (AES-128-CBC + HMAC-SHA256) taken from
``STOREHUB_VISION_KEY`` if set (a secret manager puts it there), else from
``DATA_DIR/vision.key``, created on first use with mode 0600.  A copy of
``hub.db`` alone (a backup, a stolen disk image without the key file, a sync to the
cloud) therefore reveals no embedding.  Losing the key loses the enrolments, which is
the safe failure: members enrol again.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from cryptography.fernet import Fernet, InvalidToken

from vision.errors import VisionError
from vision.faces.engine import Embedding

KEY_ENV = "STOREHUB_VISION_KEY"
KEY_FILE = "vision.key"


class VisionKeyError(VisionError):
    """The encryption key is missing, malformed, or not the one the data was sealed with."""


def load_key(data_dir: Path, *, env: dict[str, str] | None = None) -> bytes:
    """The key from the environment, else the key file (made, 0600, if missing)."""
    environ = os.environ if env is None else env
    if environ.get(KEY_ENV):
        key = environ[KEY_ENV].encode()
    else:
        path = data_dir / KEY_FILE
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            # Created with 0600 from the start: never world-readable, not even briefly.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        key = path.read_bytes().strip()
    try:
        Fernet(key)
    except ValueError as exc:
        raise VisionKeyError(f"the vision key is not a Fernet key: {exc}") from None
    return key


class Sealer:
    """Encrypts and decrypts embeddings (float32 × 128)."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, embedding: Embedding) -> bytes:
        return self._fernet.encrypt(np.asarray(embedding, np.float32).tobytes())

    def open(self, token: bytes) -> Embedding:
        try:
            raw = self._fernet.decrypt(token)
        except InvalidToken:
            raise VisionKeyError("an embedding does not decrypt with this key") from None
        return np.frombuffer(raw, dtype=np.float32).copy()
