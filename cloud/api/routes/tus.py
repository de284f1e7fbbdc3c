"""tus 1.0.0 endpoints at /files/ (bearer device token).

Extensions: creation, creation-with-upload, checksum (sha1, sha256, crc32), termination,
expiration. Metadata (`Upload-Metadata`) must carry `sha256` (hex of the whole file),
`patient_id`, `kind` and `filename`. Creation answers as the standard says to every
client; only to one that asks (``Chairside-Ask-Stored: true``, our agent) and when the
installation already holds a file with that SHA-256, it answers 201 with
``Upload-Offset`` equal to ``Upload-Length`` and ``Chairside-Already-Stored: true``:
the upload is complete without sending bytes. A refused creation-with-upload leaves
nothing behind. 460 means a damaged chunk (send it again); a whole file whose SHA-256
is not the declared one is 422, the upload discarded (start again).
HEAD says ``Chairside-Upload-Busy: true`` while a request still writes the upload.
On its last byte an upload's SHA-256 is checked against `sha256`; a mismatch discards
it (422) and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Callable
from pathlib import Path as PathType
from typing import Annotated, TypeVar, cast

from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from cloud import metrics
from cloud.api.deps import (
    BlobsDep,
    SessionMakerDep,
    SettingsDep,
    TokenDep,
    bearer,
    bearer_token,
    device_or_401,
    unknown_token,
)
from cloud.blobstore import BlobStoreError
from cloud.crud import DeviceCtx, Refused
from cloud.crud import uploads as crud
from cloud.crud.uploads import UploadRow
from cloud.institutions.dissolution import refuse_if_dissolved
from cloud.models import Upload
from cloud.tus import storage
from cloud.tus.part_seal import master_key
from cloud.tus.protocol import (
    ALREADY_STORED,
    ASK_STORED,
    CHECKSUM_ALGORITHMS,
    EXTENSIONS,
    EXTENSIONS_WITHOUT_CHECKSUM,
    OFFSET_CONTENT_TYPE,
    TUS_VERSION,
    UPLOAD_BUSY,
    ImageMeta,
    http_date,
    image_meta,
    parse_checksum,
    parse_metadata,
    parse_uint,
)
from cloud.tus.segments import Part, StalePart
from cloud.tus.upload_lock import UploadLocks

router = APIRouter(prefix="/files", tags=["uploads"])
UploadId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


def _locks(request: Request) -> UploadLocks:
    locks: UploadLocks = request.app.state.upload_locks
    return locks


def _version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise Refused(412, f"Tus-Resumable must be {TUS_VERSION}", {"Tus-Version": TUS_VERSION})


def _expires(upload: Upload | UploadRow) -> str:
    when = upload.expires_at
    return http_date(when if when.tzinfo else when.replace(tzinfo=dt.UTC))


def _options(settings: SettingsDep) -> Response:
    headers = {"Tus-Version": TUS_VERSION, "Tus-Extension": EXTENSIONS,
               "Tus-Max-Size": str(settings.max_upload_bytes),
               "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS)}
    if not settings.tus_checksum:
        headers["Tus-Extension"] = EXTENSIONS_WITHOUT_CHECKSUM
        del headers["Tus-Checksum-Algorithm"]
    return Response(status_code=204, headers=headers)


router.add_api_route("/", _options, methods=["OPTIONS"], include_in_schema=False)
router.add_api_route("/{upload_id}", _options, methods=["OPTIONS"], include_in_schema=False)


T = TypeVar("T")


async def _sync(maker: SessionMakerDep, fn: Callable[..., T], **kwargs: object) -> T:
    def run() -> T:
        with maker() as session:
            return fn(session, **kwargs)
    return await run_in_threadpool(run)


@router.post("/", status_code=201, summary="Create an upload (tus creation)")
async def create_upload(
    request: Request, token: TokenDep, maker: SessionMakerDep, settings: SettingsDep,
    blobs: BlobsDep,
) -> Response:
    _version(request)
    if "upload-defer-length" in request.headers:
        raise Refused(400, "Upload-Defer-Length is not supported; send Upload-Length")
    length = parse_uint(request.headers.get("upload-length"), "Upload-Length")
    if length > settings.max_upload_bytes:
        raise Refused(413, f"Upload-Length exceeds Tus-Max-Size ({settings.max_upload_bytes})")
    header = request.headers.get("upload-metadata", "")
    meta = image_meta(parse_metadata(header))
    asks = request.headers.get(ASK_STORED, "").lower() == "true"
    device, upload, done = await run_in_threadpool(
        _begin, maker, token=token, length=length, meta=meta, metadata=header,
        expires_in=dt.timedelta(hours=settings.upload_expiry_hours), asks=asks,
        blobs=blobs, folder=settings.uploads_dir, master=master_key(settings))
    # Relative unless a public URL is configured: clients resolve it against the URL
    # they used, and the Host header (chosen by the caller) never makes it.
    base = settings.public_url.rstrip("/")
    headers = {"Location": f"{base}/files/{upload.id}", "Upload-Expires": _expires(upload)}
    if done:
        return Response(status_code=201, headers={
            **headers, "Upload-Offset": str(length), ALREADY_STORED: "true"})
    offset = 0
    with_body = request.headers.get("content-type", "").split(";")[0].strip().lower() \
        == OFFSET_CONTENT_TYPE
    if with_body or length == 0:
        try:
            offset = await _write(request, device, maker, settings, blobs,
                                  UploadRow.of(upload), 0)
        except (Refused, OSError, BlobStoreError):
            # Answered without a Location: nothing may stay behind of it.
            await _sync(maker, crud.forget, upload_id=upload.id, folder=settings.uploads_dir)
            raise
    return Response(status_code=201, headers={**headers, "Upload-Offset": str(offset)})


def _begin(
    maker: SessionMakerDep, *, token: str, length: int, meta: ImageMeta, metadata: str,
    expires_in: dt.timedelta, asks: bool, blobs: BlobsDep, folder: PathType, master: bytes,
) -> tuple[DeviceCtx, Upload, bool]:
    """The device (401), its clinic not dissolved, the upload's row and, unless its
    bytes are held already, its part file: on one worker thread, as each trip to one
    costs milliseconds on a busy machine and a PC creates an upload per image."""
    with maker() as session:
        device = device_or_401(session, token)
        refuse_if_dissolved(session, installation_id=device.installation_id)
    held = asks and blobs.has(meta.sha256)
    with maker() as session:  # its own: crud.create begins with the write lock
        upload, done = crud.create(
            session, device=device, length=length, meta=meta, metadata=metadata,
            expires_in=expires_in, already_held=held)
    if not done:
        try:
            storage.create_part(folder, upload.id, master)
        except OSError:
            # Answered without a Location: nothing may stay behind of it.
            with maker() as session:
                crud.forget(session, upload_id=upload.id, folder=folder)
            raise
    return device, upload, done


@router.head("/{upload_id}", summary="The offset of an upload")
async def head_upload(
    upload_id: UploadId, request: Request, token: TokenDep, maker: SessionMakerDep,
    settings: SettingsDep,
) -> Response:
    _version(request)
    _device, upload = await _caller_upload(maker, token, upload_id, settings)
    busy = False
    if upload.completed_at is not None:
        offset = upload.length
    else:
        offset = storage.part_size(settings.uploads_dir, upload.id, upload.length) or 0
        locks = _locks(request)
        busy = storage.is_busy(settings.uploads_dir, upload.id) if locks.by_flock \
            else await locks.busy(upload.id)
    headers = {"Upload-Offset": str(offset), "Upload-Length": str(upload.length),
               "Cache-Control": "no-store", "Upload-Expires": _expires(upload)}
    if busy:
        # An abandoned body still arriving holds the upload until it stops (the body
        # read timeout frees it): a client that knows this header waits, sending
        # nothing into the lock.
        headers[UPLOAD_BUSY] = "true"
    if upload.metadata_header:
        headers["Upload-Metadata"] = upload.metadata_header
    return Response(status_code=200, headers=headers)


@router.patch("/{upload_id}", status_code=204, summary="Append a chunk (tus core)")
async def patch_upload(
    upload_id: UploadId, request: Request, token: TokenDep, maker: SessionMakerDep,
    settings: SettingsDep, blobs: BlobsDep,
) -> Response:
    return await _patch(request, upload_id, token, maker, settings, blobs)


async def _patch(
    request: Request, upload_id: str, token: str, maker: SessionMakerDep,
    settings: SettingsDep, blobs: BlobsDep,
) -> Response:
    _version(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != OFFSET_CONTENT_TYPE:
        raise Refused(415, f"Content-Type must be {OFFSET_CONTENT_TYPE}")
    offset = parse_uint(request.headers.get("upload-offset"), "Upload-Offset")
    device, upload = await _caller_upload(maker, token, upload_id, settings)
    new_offset = await _write(request, device, maker, settings, blobs, upload, offset)
    return Response(status_code=204, headers={"Upload-Offset": str(new_offset),
                                              "Upload-Expires": _expires(upload)})


_PATCH_PATH = re.compile(r"^/files/([0-9a-f]{32})$")


class FastPatch:
    """PATCH /files/{upload_id} straight to its handler, past FastAPI's routing (which
    tries the app's routes one by one), dependency solving and exception layers: an
    upload sends one PATCH per chunk, and that fixed cost of each, paid before its first
    byte is read, showed in the upload's speed. The answers are the route's own: the
    same handler, the app's exception handlers, the route in the scope for metrics.
    Every other request, and a PATCH of a malformed id, goes through the app's routing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.route = next(r for r in router.routes
                          if isinstance(r, APIRoute) and r.methods and "PATCH" in r.methods)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _PATCH_PATH.match(scope["path"]) \
            if scope["type"] == "http" and scope["method"] == "PATCH" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        upload_id = found.group(1)
        scope["route"], scope["path_params"] = self.route, {"upload_id": upload_id}
        request = Request(scope, receive)
        state = request.app.state
        try:
            token = await bearer_token(await bearer(request))
            response = await _patch(request, upload_id, token, state.sessionmaker,
                                    state.settings, state.blobs)
        except Exception as exc:
            response = await _handled(request, exc)
        await response(scope, receive, send)


async def _handled(request: Request, exc: Exception) -> Response:
    """The answer the app's exception handlers give to `exc` (re-raised without one)."""
    handlers = request.app.exception_handlers
    handler = handlers.get(exc.status_code) if isinstance(exc, HTTPException) else None
    handler = handler or next((handlers[c] for c in type(exc).__mro__ if c in handlers), None)
    if handler is None:
        raise exc
    response = handler(request, exc)
    if inspect.isawaitable(response):
        response = await response
    exc.__traceback__ = None  # not kept alive with the frames of the request
    return cast(Response, response)


@router.delete("/{upload_id}", status_code=204, summary="Terminate an upload")
async def delete_upload(
    upload_id: UploadId, request: Request, token: TokenDep, maker: SessionMakerDep,
    settings: SettingsDep,
) -> Response:
    _version(request)
    _device, upload = await _caller_upload(maker, token, upload_id, settings)
    folder = settings.uploads_dir
    if upload.completed_at is None and storage.part_path(folder, upload.id).exists():
        locks = _locks(request)
        async with locks.hold(upload.id):
            with storage.locked_part(folder, upload.id, flock=locks.by_flock):
                await _sync(maker, crud.forget, upload_id=upload.id, folder=folder)
    else:
        await _sync(maker, crud.forget, upload_id=upload.id, folder=folder)
    return Response(status_code=204)


def _lookup(session: Session, *, token: str, upload_id: str,
            folder: PathType) -> tuple[DeviceCtx, UploadRow]:
    found = crud.caller_upload(session, token=token, upload_id=upload_id, folder=folder)
    if found is None:
        raise unknown_token()
    return found


async def _caller_upload(maker: SessionMakerDep, token: str, upload_id: str,
                         settings: SettingsDep) -> tuple[DeviceCtx, UploadRow]:
    """The calling device and its upload (401, 404, 410), in one trip to a worker
    thread: a PATCH's first byte waits for it, and each trip costs milliseconds on a
    loaded machine."""
    found = await _sync(maker, _lookup, token=token, upload_id=upload_id,
                        folder=settings.uploads_dir)
    return found


async def _write(
    request: Request, device: DeviceCtx, maker: SessionMakerDep, settings: SettingsDep,
    blobs: BlobsDep, upload: UploadRow, offset: int,
) -> int:
    """Append the request body at `offset`; on the last byte verify and store."""
    checksum = parse_checksum(request.headers.get("upload-checksum")) \
        if settings.tus_checksum else None
    if upload.completed_at is not None:
        if offset == upload.length:
            return offset
        raise Refused(409, f"Upload-Offset {offset} does not match the upload's offset "
                      f"{upload.length}", {"Upload-Offset": str(upload.length)})
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and offset + int(declared) > upload.length:
        raise Refused(413, "the body is longer than the rest of Upload-Length; nothing of "
                      "it was kept")
    folder = settings.uploads_dir
    locks = _locks(request)
    async with locks.hold(upload.id):
        with storage.locked_part(folder, upload.id, flock=locks.by_flock) as fd:
            try:
                part = Part(folder, upload.id, fd, upload.length, master_key(settings))
            except StalePart:
                await _sync(maker, crud.forget, upload_id=upload.id, folder=folder)
                raise Refused(410, "this upload was begun before the server was updated "
                              "and can not go on; start it again") from None
            h, current = await storage.verified_hash(part, storage.recover(part))
            if offset != current:
                raise Refused(409, f"Upload-Offset {offset} does not match the upload's offset "
                              f"{current}", {"Upload-Offset": str(current)})
            try:
                written, h = await storage.receive(
                    request.stream(), part, start=current, h=h, checksum=checksum,
                    journal=storage.unverified_journal(folder, upload.id),
                )
            except ClientDisconnect:
                kept = part.offset()
                if checksum is None:
                    storage.remember_hash(upload.id, kept, h)
                return kept
            except BaseException:
                storage.forget_hash(upload.id)
                raise
            new_offset = current + written
            metrics.UPLOAD_BYTES.inc(written)
            storage.remember_hash(upload.id, new_offset, h)
            if new_offset < upload.length:
                return new_offset
            if h.hexdigest() != upload.sha256:
                await _sync(maker, crud.forget, upload_id=upload.id, folder=folder)
                raise Refused(422, "the file's SHA-256 does not match the declared sha256; "
                              "the upload was discarded and nothing was stored: start again")
            await run_in_threadpool(storage.store, blobs, upload.sha256, part)
            storage.forget_hash(upload.id)
        await _sync(maker, crud.finish, device=device, upload_id=upload.id)
        return new_offset
