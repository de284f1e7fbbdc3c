"""The JSON API router, mounted at /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

from cloud.api.routes import admin, download, images, installations, portal_admin, sync
from cloud.institutions import api_routes as institutions
from cloud.institutions import dissolution_routes, migration_routes

api_router = APIRouter()
api_router.include_router(installations.router)
api_router.include_router(sync.router)
api_router.include_router(portal_admin.router)
api_router.include_router(images.router)
api_router.include_router(download.router)
api_router.include_router(admin.router)
api_router.include_router(admin.practice_router)
api_router.include_router(migration_routes.router)
api_router.include_router(institutions.router)
api_router.include_router(dissolution_routes.router)
