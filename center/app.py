"""The FastAPI application: ``create_app(settings)``.

``create_app`` opens the database (migrating it to the newest schema unless
told not to), loads or creates the keys, and starts the e-mail sender and the
compliance-check runner with the application's lifespan.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from center.errors import ApiError
from center.service import Center
from center.settings import CenterSettings
from center.words import said, said_zh

log = logging.getLogger("center")
OPENAPI_FILE = Path(__file__).resolve().parent / "openapi.json"
API_VERSION = "1.0.0"


def create_app(settings: CenterSettings, migrate: bool = True) -> FastAPI:
    center = Center(settings, migrate=migrate)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:  # FastAPI's lifespan protocol
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = int(
            settings.get("api_threads", 60)
        )
        center.start()
        try:
            yield
        finally:
            center.stop()

    app = FastAPI(
        title="Diploma-photo collection center",
        version=API_VERSION,
        description="Center API v1 for kiosks (docs/architecture.md). Errors are "
        '`{"error": {"code", "zh", "en", ...}}`.',
        lifespan=lifespan,
        docs_url=None,  # the Swagger UI loads scripts from a CDN; booths are offline
        redoc_url=None,
    )
    app.state.center = center
    _install_error_handlers(app)
    _install_guard(app, center, settings)
    from center.storage.http import install_error_handlers as install_store_errors

    install_store_errors(app)  # photo store down: 503 (center/storage)

    from center.api import public, router
    from center.console.kiosk_admin import admin
    from center.console.routes import console

    app.include_router(router)
    app.include_router(public)
    app.include_router(console)
    app.include_router(admin)
    from center.metrics import metrics_router

    app.include_router(metrics_router)  # /metrics, bearer token (center/metrics.py)
    from center.apidocs import docs_router

    app.include_router(docs_router)  # /docs, drawn from /openapi.json (center/apidocs.py)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if "retry_after" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        # Field locations and messages only: the input may hold a collection code.
        fields = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        body = ApiError(
            422,
            "invalid_request",
            *said("invalid_request"),
            fields=fields[:20],
        ).body()
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code in (302, 303):
            return Response(status_code=exc.status_code, headers=exc.headers)
        body = ApiError(
            exc.status_code,
            f"http_{exc.status_code}",
            said_zh("unprocessable"),
            str(exc.detail) if exc.detail else "Request refused.",
        ).body()
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    async def database_down(_request: Request, exc: DBAPIError) -> Response:
        # e.g. PostgreSQL restarted: the pool is discarded, the kiosk's retry works
        log.warning(
            "database error %s", type(exc.orig).__name__ if exc.orig else type(exc).__name__
        )
        body = ApiError(
            503,
            "center_unavailable",
            *said("center_unavailable"),
        )
        return JSONResponse(body.body(), status_code=503, headers={"Retry-After": "2"})

    @app.exception_handler(OverflowError)
    async def overflow(_request: Request, _exc: OverflowError) -> Response:
        # a number too big for the database (an id in a path or query): no such thing
        body = ApiError(404, "not_found", *said("no_such_record")).body()
        return JSONResponse(body, status_code=404)

    @app.exception_handler(Exception)
    async def crash(_request: Request, exc: Exception) -> Response:
        log.error("unhandled %s", type(exc).__name__, exc_info=exc)
        body = ApiError(
            500, "internal", *said("internal")
        )
        return JSONResponse(body.body(), status_code=500)


def _install_guard(app: FastAPI, center: Center, settings: CenterSettings) -> None:
    """Authenticate before the body, cap every body (center/guard.py)."""
    from center.guard import Caps, Guard

    caps = Caps(
        photo=int(settings.get("upload.max_bytes")) + 64 * 1024,
        roster=int(settings.get("limits.roster_max_bytes", 10 * 1024 * 1024)),
        default=int(settings.get("limits.body_max_bytes", 64 * 1024)),
    )
    app.add_middleware(
        Guard,
        center=center,
        caps=caps,
        body_idle_seconds=float(settings.get("limits.body_idle_seconds", 10.0)),
    )


def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes (``kiosk center serve --workers N``)."""
    from center.http_protocol import configure

    settings = CenterSettings.from_json(os.environ["KIOSK_CENTER_SETTINGS"])
    configure(settings)
    return create_app(settings, migrate=False)


def openapi_text(app: FastAPI) -> str:
    import json

    return json.dumps(app.openapi(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
