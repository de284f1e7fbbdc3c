"""Typed dependencies of the routes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from cloud.blobstore import BlobStore
from cloud.config import Settings
from cloud.crud import DeviceCtx
from cloud.crud.installations import device_for_token

bearer = HTTPBearer(auto_error=False, description="The device token from device registration")


# The trivial dependencies are coroutines: FastAPI runs a plain function dependency on
# a worker thread, and a hop to a thread and back per dependency added milliseconds to
# every request on a busy machine (a tus PATCH had five of them before its first byte).
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _maker(request: Request) -> sessionmaker[Session]:
    maker: sessionmaker[Session] = request.app.state.sessionmaker
    return maker


async def get_sessionmaker(request: Request) -> sessionmaker[Session]:
    return _maker(request)


def get_db(request: Request) -> Iterator[Session]:
    with _maker(request)() as session:
        yield session


async def get_blobs(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
SessionMakerDep = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


async def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The bearer token that came with the request (not checked yet); 401 without one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "a device token is required (Authorization: Bearer ...)",
                            headers={"WWW-Authenticate": "Bearer"})
    return credentials.credentials


TokenDep = Annotated[str, Depends(bearer_token)]


def unknown_token() -> HTTPException:
    return HTTPException(401, "unknown or revoked device token",
                         headers={"WWW-Authenticate": "Bearer"})


def device_or_401(session: Session, token: str) -> DeviceCtx:
    """The device of a bearer token; 401 when it is unknown or revoked."""
    device = device_for_token(session, token=token)
    if device is None:
        raise unknown_token()
    return device


def get_device(request: Request, token: TokenDep) -> DeviceCtx:
    """The device whose bearer token came with the request; 401 otherwise."""
    with _maker(request)() as session:
        return device_or_401(session, token)


DeviceDep = Annotated[DeviceCtx, Depends(get_device)]
