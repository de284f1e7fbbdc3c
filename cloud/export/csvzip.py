"""The data download file: CSV files streamed from the database into an AES ZIP.

Rows are read through a server-side cursor (`yield_per`) and written to the ZIP entry as
they come, so memory holds one batch of rows and the small lookup tables (names of
users, chairs and patients), never a whole file. The ZIP is WinZip AES-256 (pyzipper),
which 7-Zip, WinZip and the file managers of Windows 11 and macOS's Archive Utility
(with 7-Zip or The Unarchiver) open; each entry is Deflate-compressed, then encrypted.
It is written next to its final name and renamed once complete, so a half-written file
is never offered.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyzipper
from sqlalchemy import select
from sqlalchemy.orm import Session

from cloud.export.columns import FILES, FileSpec, Lookups, as_cell, readme
from cloud.models import Installation, PatientAlias, Record
from cloud.portal import clock

BATCH = 2000  # rows per round trip of the server-side cursor
AES_BITS = 256
FAST = 1


@dataclass(frozen=True)
class Made:
    """What a finished download holds: rows per file and the ZIP's size."""

    rows: dict[str, int]
    size: int


def _rows(session: Session, iid: str, entity: str) -> Iterator[tuple[str, dict[str, Any]]]:
    q = (select(Record.entity_id, Record.fields)
         .where(Record.installation_id == iid, Record.entity == entity)
         .order_by(Record.entity_id)
         .execution_options(yield_per=BATCH))
    for rid, fields in session.execute(q).tuples():
        if not fields.get("deleted"):
            yield rid, fields


def _names(session: Session, iid: str, entity: str, field: str) -> dict[str, str]:
    return {rid: str(f.get(field) or "") for rid, f in _rows(session, iid, entity)}


def _users(session: Session, iid: str) -> dict[str, str]:
    rows = dict(_rows(session, iid, "user"))
    out: dict[str, str] = {}
    for rid, f in rows.items():
        shown = rows.get(str(f.get("merged_into") or ""), f)  # a merged user: the kept one
        out[rid] = str(shown.get("display_name") or shown.get("username") or "")
    return out


class _Aliases:
    """Merged patients resolve to the patient kept (chains followed, loops cut)."""

    def __init__(self, pairs: dict[str, str]) -> None:
        self.pairs = pairs

    def __call__(self, pid: str) -> str:
        seen = {pid}
        while pid in self.pairs:
            pid = self.pairs[pid]
            if pid in seen:
                break
            seen.add(pid)
        return pid


def _write_csv(zf: pyzipper.AESZipFile, spec: FileSpec,
               rows: Iterator[tuple[str, dict[str, Any], str]], lk: Lookups) -> int:
    n = 0
    getters = [c.get for c in spec.columns]

    def values() -> Iterator[list[str]]:
        nonlocal n
        for rid, fields, pid in rows:
            n += 1
            yield [as_cell(get(rid, fields, pid, lk)) for get in getters]

    with zf.open(spec.name, "w", force_zip64=True) as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", write_through=False)
        w = csv.writer(out)
        w.writerow([c.name for c in spec.columns])
        w.writerows(values())
        out.flush()
        out.detach()
    return n


def write(session: Session, installation_id: str, dest: Path, password: str) -> Made:
    """Write the practice's data download to `dest`, locked with `password`."""
    inst = session.get(Installation, installation_id)
    if inst is None:
        raise LookupError("no such installation")
    tz = clock.zone(session, installation_id)
    aliases: dict[str, str] = {old: kept for old, kept in session.execute(
        select(PatientAlias.old_id, PatientAlias.kept_id)
        .where(PatientAlias.installation_id == installation_id))}
    patients: dict[str, tuple[str, str]] = {}
    lk = Lookups(tz, _users(session, installation_id),
                 _names(session, installation_id, "chair", "name"), patients)
    agreement_of: dict[str, str] = {}
    resolve = _Aliases(aliases)
    counts: dict[str, int] = {}

    def patient_rows() -> Iterator[tuple[str, dict[str, Any], str]]:
        for rid, f in _rows(session, installation_id, "patient"):
            if f.get("merged_into"):
                aliases.setdefault(rid, str(f["merged_into"]))
                continue
            name = ", ".join(x for x in (f.get("last_name"), f.get("first_name")) if x)
            patients[rid] = (str(f.get("card_number") or ""), name)
            yield rid, f, rid

    def rows_of(entity: str) -> Iterator[tuple[str, dict[str, Any], str]]:
        for rid, f in _rows(session, installation_id, entity):
            raw = f.get("patient_id") or agreement_of.get(str(f.get("agreement_id")), "")
            pid = resolve(str(raw)) if raw else ""
            if pid not in patients:
                continue  # a deleted patient's rows went with him
            if entity == "agreement":
                agreement_of[rid] = pid
            yield rid, f, pid

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        # Deflate's fastest level: about three times faster than its default for a
        # ZIP some 12 % larger (measured with bench/download.py); the export is CPU-bound.
        with pyzipper.AESZipFile(part, "w", compression=pyzipper.ZIP_DEFLATED,
                                 compresslevel=FAST, encryption=pyzipper.WZ_AES) as zf:
            zf.setpassword(password.encode())
            zf.setencryption(pyzipper.WZ_AES, nbits=AES_BITS)
            for spec in FILES:
                rows = patient_rows() if spec.entity == "patient" else rows_of(spec.entity)
                counts[spec.name] = _write_csv(zf, spec, rows, lk)
            made_at = clock.now().astimezone(tz).strftime("%Y-%m-%d %H:%M")
            zf.writestr("README.txt", readme(installation_id, made_at, str(tz), counts)
                        .encode("utf-8-sig"))
        with open(part, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        session.rollback()  # end the long read snapshot
    return Made(counts, dest.stat().st_size)


def file_name(installation_id: str, day: dt.date) -> str:
    return f"chairside-data-{installation_id}-{day.isoformat()}.zip"
