"""Thumbnails: made from the stored file, cached on disk by its hash.

Pictures are checked against MAX_PIXELS before they are decoded (Pillow's own
decompression-bomb limit turned into an error with a reason), so memory stays bounded
whatever a file claims; JPEGs are decoded at reduced scale (draft mode), which makes
a 20-megapixel photo a fraction of a second. Damaged or truncated files raise
DamagedFileError with the reason; the stored original is never touched.

Thread-safe: a cache file is written to a temporary name and renamed into place.
Stored files are read through app.imaging.sealed (decrypted as they are read); a
thumbnail of a sealed store is sealed with the store's key too.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

from app.imaging import classify, dicom, sealed, series
from app.imaging.cas import ImageStore
from app.imaging.errors import DamagedFileError, ImagingError, TooLargeError
from app.platform.paths import data_dir

SIZE = 256
MAX_PIXELS = 100_000_000  # 100 megapixels: more than any intraoral or facial camera
VERSION = "1"  # bump to redraw every cached thumbnail
# Pillow's own guard, made an error here: over MAX_PIXELS it warns (and over twice that
# refuses); for a clinic's files, a bomb is never worth decoding.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)


def open_picture(path: Path, fit: int | None = None) -> Image.Image:
    """A photo or X-ray decoded for display, at most `fit` pixels on its long side.
    Raises TooLargeError / DamagedFileError with the reason."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(sealed.open_read(path))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLargeError(
            f"{path.name} is refused as a possible decompression bomb: {exc} "
            f"(the limit is {MAX_PIXELS // 1_000_000} megapixels)."
        ) from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DamagedFileError(f"{path.name} cannot be read as a picture ({exc}).") from None
    with im:
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise TooLargeError(
                f"{path.name} claims {w}×{h} pixels ({w * h / 1e6:.0f} megapixels); "
                f"pictures over {MAX_PIXELS // 1_000_000} megapixels are refused as a "
                "possible decompression bomb."
            )
        if fit and im.format == "JPEG":
            im.draft("RGB", (fit, fit))
        try:
            im.load()
        except (OSError, ValueError, SyntaxError) as exc:
            raise DamagedFileError(
                f"{path.name} is damaged or incomplete ({exc}). The original is kept."
            ) from None
        out = ImageOps.exif_transpose(im) or im
        out = _to_display_mode(out)
        if fit:
            out.thumbnail((fit, fit), Image.Resampling.LANCZOS)
        return out


def _to_display_mode(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit X-rays: stretch the used range to 8 bits rather than clip at 255.
        import numpy as np

        a = np.asarray(im, dtype=np.float32)
        low, high = np.percentile(a[:: max(1, a.shape[0] // 512)], [0.5, 99.5])
        a = np.clip((a - low) / max(high - low, 1e-6), 0, 1) * 255
        return Image.fromarray(a.astype(np.uint8), "L")
    if im.mode not in ("RGB", "L"):
        return im.convert("RGB")
    return im


def _icon(label: str, size: int) -> Image.Image:
    im = Image.new("RGB", (size, size), (225, 229, 236))
    draw = ImageDraw.Draw(im)
    draw.rectangle([8, 8, size - 9, size - 9], outline=(120, 130, 150), width=3)
    draw.text((size // 2, size // 2), label, fill=(60, 70, 90), anchor="mm")
    return im


def render(path: Path, store: ImageStore | None = None, size: int = SIZE,
           name: str = "") -> Image.Image:
    """A thumbnail of the file at `path` (a stored file, or a series manifest whose
    slices are in `store`); `name`, its original name, helps tell what it is."""
    if sealed.plain_size(path) == 0:
        raise DamagedFileError(f"{path.name} is empty (0 bytes).")
    if series.is_manifest(path):
        manifest = series.load(path)
        slice_path = (store or ImageStore()).path_of(manifest.middle.sha256)
        if not slice_path.is_file():
            return _icon(f"CBCT · {len(manifest.slices)} slices", size)
        im = dicom.render(slice_path)
        im.thumbnail((size, size), Image.Resampling.LANCZOS)
        return im
    found = classify.classify_as(path, name or path.name)
    if found.format in classify.PHOTO_FORMATS:
        return open_picture(path, size)
    if found.format == "dicom":
        if found.dicom is not None and not found.dicom.is_image:
            return _icon(_short(found.dicom.sop_class) or "DICOM", size)
        im = dicom.render(path)
        im.thumbnail((size, size), Image.Resampling.LANCZOS)
        return im
    if found.is_mesh:
        from app.imaging import mesh  # numpy: not at start-up

        return mesh.render(mesh.load(path, found.format), size)
    return _icon(Path(name or path.name).suffix.upper().lstrip(".") or "FILE", size)


def _short(sop_class: str) -> str:
    """"Basic Text SR Storage" -> "Basic Text SR": what fits on an icon."""
    return sop_class.removesuffix(" Storage")[:28]


def renamed(exc: ImagingError, stored: Path, name: str) -> ImagingError:
    """The same error, naming the file as the clinic knows it rather than by the
    hash it is stored under."""
    if not name:
        return exc
    return type(exc)(str(exc).replace(stored.name, name))


class ThumbnailCache:
    """Thumbnails of stored files by hash, under <data>/thumbnails."""

    def __init__(self, store: ImageStore | None = None, root: Path | None = None) -> None:
        self.store = store or ImageStore()
        self.root = Path(root) if root is not None else data_dir() / "thumbnails"

    def path_of(self, sha256: str, size: int = SIZE) -> Path:
        return self.root / sha256[:2] / f"{sha256[2:]}-{size}-v{VERSION}.png"

    def png(self, sha256: str, size: int = SIZE, name: str = "") -> bytes:
        """The thumbnail's PNG bytes (decrypted), made now when missing."""
        with sealed.open_read(self.get(sha256, size, name)) as f:
            return f.read()

    def get(self, sha256: str, size: int = SIZE, name: str = "") -> Path:
        """The cached thumbnail, made now when missing. Raises ImagingError, whose
        reason names the file by `name` (its original name) when given."""
        target = self.path_of(sha256, size)
        # One cached before the store was sealed is made again, sealed.
        if target.is_file() and (self.store.key is None or sealed.is_sealed(target)):
            return target
        source = self.store.path_of(sha256)
        if not source.is_file():
            raise ImagingError("This image has not reached this computer yet.")
        try:
            im = render(source, self.store, size, name)
        except ImagingError as exc:
            raise renamed(exc, source, name) from None
        png = io.BytesIO()
        im.save(png, "PNG")
        self._write(target, png.getvalue())
        return target

    def has(self, sha256: str, size: int = SIZE) -> bool:
        return self.path_of(sha256, size).is_file()

    def put(self, sha256: str, png: bytes, size: int = SIZE) -> Path:
        """Keep a thumbnail made elsewhere (the server's, for an image whose file is
        not on this PC yet), sealed like those made here."""
        target = self.path_of(sha256, size)
        self._write(target, png)
        return target

    def _write(self, target: Path, png: bytes) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                if self.store.key is None:
                    f.write(png)
                else:
                    writer = sealed.SealWriter(f, self.store.key)
                    writer.write(png)
                    writer.close()
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
