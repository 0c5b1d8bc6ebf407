"""Serving stored photos over HTTP, streamed, and the 503 for a store that is down."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from center.errors import ApiError
from center.storage.base import CHUNK, PhotoStore, StoreCorrupt, StoreUnavailable

log = logging.getLogger("center.storage")


def photo_response(store: PhotoStore, sha: str, filename: str | None = None) -> Response:
    """The photo as ``image/jpeg``, sent in chunks (never loaded whole).

    A local file goes out as a ``FileResponse`` (the kernel copies it); the
    other stores stream ``iter_chunks`` with the size as Content-Length.
    A photo the store no longer holds (purged, lost) is a 404.
    """
    from center.storage.local import LocalStore

    disposition = {"Content-Disposition": f'inline; filename="{filename}"'} if filename else {}
    if isinstance(store, LocalStore):
        path = store.path(sha)
        if not path.exists():
            return Response(status_code=404)
        return FileResponse(path, media_type="image/jpeg", headers=disposition)
    try:
        size, chunks = store.open_stream(sha, CHUNK)
    except FileNotFoundError:
        return Response(status_code=404)
    headers = {"Content-Length": str(size), **disposition}
    return StreamingResponse(chunks, media_type="image/jpeg", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Store down or a write that failed its checksum: 503, the kiosk retries later."""

    async def store_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StoreUnavailable | StoreCorrupt)
        log.warning("photo store: %s", exc.detail)
        body = ApiError(503, exc.code, exc.zh, exc.en).body()
        return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})

    app.add_exception_handler(StoreUnavailable, store_error)
    app.add_exception_handler(StoreCorrupt, store_error)
