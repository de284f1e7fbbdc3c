"""Errors of the imaging layer; str() is a reason a clinic can read."""

from __future__ import annotations

# Defined beside the sealed format (app.platform) so that the cloud, which reads sealed
# blobs too, raises the same errors without importing the imaging layer.
from app.platform.file_errors import DamagedFileError, ImagingError

__all__ = ["DamagedFileError", "ImagingError", "TooLargeError", "UnsupportedError"]


class TooLargeError(ImagingError):
    """Decoding would take more memory than we allow (a decompression bomb, or just
    an image far larger than any camera or sensor makes)."""


class UnsupportedError(ImagingError):
    """A format we keep but cannot draw (for instance a compressed DICOM without a
    decoder installed)."""
