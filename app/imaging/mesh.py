"""3D models (STL, PLY, OBJ): loading to arrays and drawing a shaded projection.

A preview needs the shape, not every triangle: models over MAX_FACES are refused as
too large to load, and drawing samples at most `budget` triangles (evenly over the
file), painted back to front with Lambert shading. Both the thumbnail (Pillow) and
the app's rotatable preview (QPainter) use `project()`.
"""

from __future__ import annotations

import io
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw

from app.imaging import sealed
from app.imaging.errors import DamagedFileError, TooLargeError

MAX_FACES = 20_000_000
MAX_TEXT_BYTES = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Mesh:
    vertices: np.ndarray  # (n, 3) float32
    faces: np.ndarray  # (m, 3) int64 indexes into vertices


@dataclass(frozen=True)
class Projection:
    polygons: np.ndarray  # (k, 3, 2) float32 screen coordinates, back to front
    shade: np.ndarray  # (k,) float32 in 0..1


def load(path: Path, fmt: str) -> Mesh:
    try:
        if fmt == "stl":
            mesh = _stl(path)
        elif fmt == "ply":
            mesh = _ply(path)
        elif fmt == "obj":
            mesh = _obj(path)
        else:
            raise DamagedFileError(f"{path.name} is not a 3D model.")
    except (struct.error, ValueError, IndexError, UnicodeDecodeError) as exc:
        reason = f"{path.name} is not a readable {fmt.upper()} model ({exc})."
        raise DamagedFileError(reason) from None
    if len(mesh.faces) == 0:
        raise DamagedFileError(f"{path.name} holds no triangles.")
    if mesh.faces.min() < 0 or mesh.faces.max() >= len(mesh.vertices):
        raise DamagedFileError(f"{path.name} refers to corners it does not define.")
    return mesh


def _check_count(path: Path, n: int) -> None:
    if n > MAX_FACES:
        raise TooLargeError(f"{path.name} has {n:,} triangles, more than a preview loads.")


def _records(f: BinaryIO, row: np.dtype, n: int) -> np.ndarray:
    """Up to `n` records read from `f` (fewer when the file is cut short), as
    np.fromfile would give, from a stream that may be decrypting."""
    raw = f.read(row.itemsize * n)
    return np.frombuffer(raw, dtype=row, count=len(raw) // row.itemsize)


def _stl(path: Path) -> Mesh:
    size = sealed.plain_size(path)
    with sealed.open_read(path) as f:
        head = f.read(84)
        count = struct.unpack_from("<I", head, 80)[0] if len(head) == 84 else -1
        if count >= 0 and size == 84 + 50 * count:
            _check_count(path, count)
            dtype = np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")])
            data = _records(f, dtype, count)
            tri = data["v"].reshape(-1, 3)
            return Mesh(tri.astype(np.float32), np.arange(len(tri)).reshape(-1, 3))
    if size > MAX_TEXT_BYTES:
        raise TooLargeError(f"{path.name} is too large a text model to preview.")
    # Line by line: memory follows the triangles kept, not the text's size.
    verts: list[tuple[float, float, float]] = []
    with sealed.open_read(path) as f:
        if not f.read(5).lower() == b"solid":
            raise ValueError("neither binary (size does not match) nor text STL")
        for line in f:
            parts = line.split()
            if parts[:1] == [b"vertex"]:
                verts.append((float(parts[1]), float(parts[2]), float(parts[3])))
    if len(verts) % 3:
        raise ValueError("a facet is cut short")
    _check_count(path, len(verts) // 3)
    arr = np.array(verts, dtype=np.float32).reshape(-1, 3)
    return Mesh(arr, np.arange(len(arr)).reshape(-1, 3))


_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1", "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2", "int": "i4", "int32": "i4", "uint": "u4",
    "uint32": "u4", "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def _ply(path: Path) -> Mesh:  # noqa: C901, PLR0912
    with sealed.open_read(path) as f:
        header: list[str] = []
        while True:
            line = f.readline()
            if not line:
                raise ValueError("the header never ends")
            text = line.decode("ascii").strip()
            header.append(text)
            if text == "end_header":
                break
        fmt = next(h.split()[1] for h in header if h.startswith("format"))
        elements: list[tuple[str, int, list[list[str]]]] = []
        for h in header:
            parts = h.split()
            if parts[:1] == ["element"]:
                elements.append((parts[1], int(parts[2]), []))
            elif parts[:1] == ["property"] and elements:
                elements[-1][2].append(parts[1:])
        counts = {name: n for name, n, _ in elements}
        _check_count(path, counts.get("face", 0))
        if fmt == "ascii":
            return _ply_ascii(f.read(), elements)
        endian = "<" if fmt == "binary_little_endian" else ">"
        verts = faces = None
        for name, n, props in elements:
            if any(p[0] == "list" for p in props):
                if name != "face" or len(props) != 1:
                    raise ValueError("only a face list is supported")
                _l, count_t, index_t, _n = props[0]
                ct = np.dtype(endian + _PLY_TYPES[count_t])
                it = np.dtype(endian + _PLY_TYPES[index_t])
                # Fast path: all triangles, the usual case for scanners.
                row = np.dtype([("c", ct), ("i", it, 3)])
                data = _records(f, row, n)
                if len(data) != n or not np.all(data["c"] == 3):
                    raise ValueError("faces are not all triangles, or are cut short")
                faces = data["i"].astype(np.int64)
            else:
                row = np.dtype([(p[1], endian + _PLY_TYPES[p[0]]) for p in props])
                data = _records(f, row, n)
                if len(data) != n:
                    raise ValueError(f"the {name} list is cut short")
                if name == "vertex":
                    verts = np.stack([data[a] for a in "xyz"], axis=1).astype(np.float32)
        if verts is None or faces is None:
            raise ValueError("no vertices or no faces")
        return Mesh(verts, faces)


def _ply_ascii(body: bytes, elements: list[tuple[str, int, list[list[str]]]]) -> Mesh:
    lines = body.decode("ascii").split("\n")
    pos = 0
    verts = faces = None
    for name, n, props in elements:
        chunk = lines[pos : pos + n]
        pos += n
        if len(chunk) != n:
            raise ValueError(f"the {name} list is cut short")
        if name == "vertex":
            names = [p[-1] for p in props]
            xyz = [names.index(a) for a in "xyz"]
            verts = np.array([[float(r.split()[i]) for i in xyz] for r in chunk], np.float32)
        elif name == "face":
            tris: list[list[int]] = []
            for r in chunk:
                v = [int(x) for x in r.split()]
                tris.extend([v[1], v[k], v[k + 1]] for k in range(2, v[0]))
            faces = np.array(tris, dtype=np.int64).reshape(-1, 3)
    if verts is None or faces is None:
        raise ValueError("no vertices or no faces")
    return Mesh(verts, faces)


def _obj(path: Path) -> Mesh:
    if sealed.plain_size(path) > MAX_TEXT_BYTES:
        raise TooLargeError(f"{path.name} is too large a text model to preview.")
    verts: list[list[float]] = []
    tris: list[list[int]] = []
    with io.TextIOWrapper(sealed.open_read(path), encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("v "):
                verts.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("f "):
                idx = []
                for token in line.split()[1:]:
                    i = int(token.split("/")[0])
                    idx.append(i - 1 if i > 0 else len(verts) + i)
                tris.extend([idx[0], idx[k], idx[k + 1]] for k in range(1, len(idx) - 1))
    _check_count(path, len(tris))
    return Mesh(np.array(verts, np.float32).reshape(-1, 3), np.array(tris, np.int64).reshape(-1, 3))


def sample(mesh: Mesh, budget: int) -> Mesh:
    if len(mesh.faces) <= budget:
        return mesh
    step = len(mesh.faces) / budget
    keep = (np.arange(budget) * step).astype(np.int64)
    return Mesh(mesh.vertices, mesh.faces[keep])


def rotation(yaw: float, pitch: float) -> np.ndarray:
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], np.float32)
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]], np.float32)
    return rx @ ry


def project(mesh: Mesh, yaw: float, pitch: float, width: int, height: int) -> Projection:
    """Orthographic view of the centred, scaled-to-fit mesh; back faces dropped."""
    v = mesh.vertices - (mesh.vertices.min(0) + mesh.vertices.max(0)) / 2.0
    radius = float(np.linalg.norm(v, axis=1).max()) or 1.0
    v = v @ rotation(yaw, pitch).T
    tri = v[mesh.faces]  # (m, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(normal, axis=1)
    ok = length > 0
    tri, normal, length = tri[ok], normal[ok], length[ok]
    normal /= length[:, None]
    # Scanners disagree on winding, so light both sides rather than cull.
    light = np.array([0.3, 0.4, 0.87], np.float32)
    shade = 0.25 + 0.75 * np.abs(normal @ light)
    order = np.argsort(tri[:, :, 2].mean(1))  # farthest (smallest z) first
    scale = 0.9 * min(width, height) / (2.0 * radius)
    xy = np.empty((len(order), 3, 2), np.float32)
    xy[..., 0] = width / 2.0 + tri[order, :, 0] * scale
    xy[..., 1] = height / 2.0 - tri[order, :, 1] * scale
    return Projection(xy, shade[order].astype(np.float32))


def render(mesh: Mesh, size: int, yaw: float = 0.5, pitch: float = -0.4,
           budget: int = 20_000) -> Image.Image:
    proj = project(sample(mesh, budget), yaw, pitch, size, size)
    im = Image.new("RGB", (size, size), (236, 238, 242))
    draw = ImageDraw.Draw(im)
    base = np.array([222, 205, 180], np.float32)  # a plaster colour
    colours = (proj.shade[:, None] * base).astype(np.uint8)
    for poly, c in zip(proj.polygons.tolist(), colours.tolist(), strict=True):
        draw.polygon([tuple(p) for p in poly], fill=tuple(c))
    return im
