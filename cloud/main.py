"""The FastAPI application of the cloud."""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from cloud import audit, logs, logsafe, metrics, migrate, storage_errors
from cloud.api.main import api_router
from cloud.api.middleware import BodyLimit, BodyReadTimeout, TusResumable
from cloud.api.routes import bench, health, tus
from cloud.blobstore import make_blob_store
from cloud.config import Settings
from cloud.crud import Refused
from cloud.db import make_engine, make_sessionmaker
from cloud.institutions import (
    case_routes,
    lab_dissolution_routes,
    lab_migration_routes,
    lab_routes,
)
from cloud.institutions import migration_job as _migration_job  # noqa: F401 - registers the move
from cloud.jobs import chores as _chores  # noqa: F401 - registers the periodic chores
from cloud.jobs.runner import Runner
from cloud.portal import (
    doctor_routes,
    download_routes,
    images,
    patient_routes,
    report_routes,
    web,
)
from cloud.tus.upload_lock import UploadLocks

log = logging.getLogger("cloud")
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None, *, migrate_db: bool = True) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if migrate_db:
        migrate.upgrade(engine)
    if not settings.smtp_configured and settings.mail_folder:
        log.warning("no SMTP server configured: mails are written to %s (for development "
                    "only; they hold passwords)", settings.mail_dir)
    maker = make_sessionmaker(engine)
    audit_key = audit.AuditKey.load(settings.audit_key, settings.data_dir)
    maker.configure(info={audit.INFO_KEY: audit_key})

    for module in filter(None, (m.strip() for m in settings.job_modules.split(","))):
        importlib.import_module(module)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runner = Runner(settings, maker, app.state.blobs)
        runner.start()
        app.state.jobs = runner
        yield
        runner.stop()
        app.state.upload_locks.close()
        engine.dispose()

    app = FastAPI(
        title="Chairside cloud",
        version="1",
        summary="Sync API and resumable image uploads of Chairside",
        lifespan=lifespan,
        openapi_url="/openapi.json" if settings.api_docs else None,
        docs_url="/docs" if settings.api_docs else None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = maker
    app.state.audit_key = audit_key  # also signs the login forms' CSRF tokens
    app.state.blobs = make_blob_store(settings)
    app.state.upload_locks = UploadLocks(settings.resolved_database_url)
    if settings.test_storage_full_flag is not None:
        storage_errors.fill_disk_while_flagged(app.state.blobs, settings.test_storage_full_flag)
    storage_errors.install(app)
    _answer_errors(app)
    _route(app, settings)
    _wrap(app, settings)
    logging.getLogger("uvicorn.access").addFilter(web.RedactTokens())
    logsafe.install()
    return app


def _answer_errors(app: FastAPI) -> None:
    """The exceptions a route may end with, each turned into its answer in one place."""

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if web.wants_page(request.url.path):
            page = web.error_page(request, exc.status, exc.reason)
            page.headers.update(exc.headers)
            return page
        return JSONResponse({"detail": exc.reason}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        # Where and what only: the submitted value ("input") may be a password, and
        # text that is not valid Unicode could not even be encoded into the answer.
        def safe(x: object) -> str:
            return str(x).encode("utf-8", "backslashreplace").decode()

        return JSONResponse({"detail": [
            {"type": safe(e.get("type", "")), "loc": [safe(x) for x in e.get("loc", ())],
             "msg": safe(e.get("msg", ""))}
            for e in exc.errors()]}, status_code=422)

    @app.exception_handler(web.NeedLogin)
    async def need_login(_request: Request, exc: web.NeedLogin) -> Response:
        return web.to_login(exc)


def _route(app: FastAPI, settings: Settings) -> None:
    @app.get("/health", include_in_schema=False)
    def old_health() -> dict[str, str]:  # what earlier agents and scripts ask
        return {"status": "ok"}

    app.include_router(health.router)
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(tus.router)
    app.include_router(doctor_routes.router)
    app.include_router(download_routes.router)
    app.include_router(images.router)
    app.include_router(patient_routes.router)
    app.include_router(report_routes.router)
    app.include_router(lab_routes.router)
    app.include_router(lab_migration_routes.router)
    app.include_router(lab_dissolution_routes.router)
    app.include_router(case_routes.router)
    app.mount("/static/portal", StaticFiles(directory=web.STATIC), name="portal-static")
    if settings.bench_routes:
        app.include_router(bench.router)


def _wrap(app: FastAPI, settings: Settings) -> None:
    """The middleware, innermost first: each added wraps those before it."""
    app.add_middleware(tus.FastPatch)  # innermost: behind every middleware, as a route is
    app.add_middleware(BodyLimit)
    app.add_middleware(BodyReadTimeout, timeout_s=settings.body_read_timeout_s)
    app.add_middleware(TusResumable)
    app.add_middleware(web.SecurityHeaders)
    app.add_middleware(metrics.Measure)
    app.add_middleware(logs.RequestId)  # outermost: every answer carries the id
