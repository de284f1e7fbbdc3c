"""The imaging layer's name for the sealed-file format, which lives in
app.platform.sealed so that the cloud's blob store shares it."""

from __future__ import annotations

from app.platform.sealed import (
    HEADER,
    HEADER_V1,
    KEY_ID,
    MAGIC,
    MAGIC_V1,
    PREFIX,
    SALT,
    SEGMENT,
    TAG,
    Blob,
    KeyUnavailableError,
    PlainBlob,
    SealedBlob,
    SealWriter,
    export,
    forget,
    hash_plain,
    is_sealed,
    key_id,
    new_key,
    open_blob,
    open_read,
    plain_size,
    read_plain,
    remember,
    rewrap,
)

__all__ = [
    "HEADER", "HEADER_V1", "KEY_ID", "MAGIC", "MAGIC_V1", "PREFIX", "SALT", "SEGMENT", "TAG",
    "Blob",
    "KeyUnavailableError", "PlainBlob", "SealWriter", "SealedBlob", "export", "forget",
    "hash_plain", "is_sealed", "key_id", "new_key", "open_blob", "open_read", "plain_size",
    "read_plain", "remember", "rewrap",
]
