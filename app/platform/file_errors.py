"""Errors about a file's bytes, shared by the imaging layer and the cloud's blob store
(both read sealed files, app.platform.sealed); str() is a reason a clinic can read."""

from __future__ import annotations


class ImagingError(Exception):
    """Base: the file could not be read, decoded or stored as asked."""


class DamagedFileError(ImagingError):
    """The file is empty, truncated or not what its format says."""
