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

_bearer = HTTPBearer(auto_error=False, description="The device token from device registration")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessionmaker(request: Request) -> sessionmaker[Session]:
    maker: sessionmaker[Session] = request.app.state.sessionmaker
    return maker


def get_db(request: Request) -> Iterator[Session]:
    with get_sessionmaker(request)() as session:
        yield session


def get_blobs(request: Request) -> BlobStore:
    blobs: BlobStore = request.app.state.blobs
    return blobs


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]
SessionMakerDep = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
BlobsDep = Annotated[BlobStore, Depends(get_blobs)]


def get_device(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> DeviceCtx:
    """The device whose bearer token came with the request; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "a device token is required (Authorization: Bearer ...)",
                            headers={"WWW-Authenticate": "Bearer"})
    with get_sessionmaker(request)() as session:
        device = device_for_token(session, token=credentials.credentials)
    if device is None:
        raise HTTPException(401, "unknown or revoked device token",
                            headers={"WWW-Authenticate": "Bearer"})
    return device


DeviceDep = Annotated[DeviceCtx, Depends(get_device)]
