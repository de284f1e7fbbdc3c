"""Errors of the imaging layer; str() is a reason a clinic can read."""

from __future__ import annotations


class ImagingError(Exception):
    """Base: the file could not be read, decoded or stored as asked."""


class DamagedFileError(ImagingError):
    """The file is empty, truncated or not what its format says."""


class TooLargeError(ImagingError):
    """Decoding would take more memory than we allow (a decompression bomb, or just
    an image far larger than any camera or sensor makes)."""


class UnsupportedError(ImagingError):
    """A format we keep but cannot draw (for instance a compressed DICOM without a
    decoder installed)."""
