"""HTTP plumbing shared by the web app's routes: security headers, JSON errors, caching.

Kept apart from the routes so that ``web.py`` reads as the list of what the app serves.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.errors import NotFound, StoreError
from aggregator.outputs import schema
from aggregator.outputs.params import BadParameter
from aggregator.outputs.style import STYLE_HASH

#: Feed readers poll; a minute of caching costs nothing and spares the database.
FEED_MAX_AGE = 60

CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {STYLE_HASH}; img-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {400: {"model": schema.ErrorOut}}
NOT_FOUND_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"model": schema.ErrorOut},
}


class SafeJSONResponse(JSONResponse):
    """JSON that cannot fail on text a database should never have held (lone surrogates)."""

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "replace")


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DocumentedApp(FastAPI):
    """FastAPI whose OpenAPI document shows our 400 error body instead of FastAPI's 422."""

    def openapi(self) -> dict[str, Any]:
        document = super().openapi()
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)
        return document


# --- errors ----------------------------------------------------------------------------------


def error_response(status: int, error: str, message: str, parameter: str | None = None) -> Response:
    """Return the JSON error body every failing API call uses."""
    body: dict[str, object] = {"error": error, "message": message}
    if parameter is not None:
        body["parameter"] = parameter
    return SafeJSONResponse(body, status_code=status)


def add_error_handlers(app: FastAPI) -> None:
    """Turn every error into the JSON body of ``error_response``."""

    async def bad_parameter(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, BadParameter)
        message = f"query parameter {exc.parameter!r}: {exc.message}"
        return error_response(400, "bad_request", message, exc.parameter)

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parameter, message = _describe_validation(exc)
        return error_response(400, "bad_request", message, parameter)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(404, "not_found", str(exc))

    async def store_error(request: Request, exc: Exception) -> Response:
        return error_response(503, "unavailable", "the database is unavailable; try again later")

    app.add_exception_handler(BadParameter, bad_parameter)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(NotFound, not_found)
    app.add_exception_handler(StoreError, store_error)


def _describe_validation(exc: RequestValidationError) -> tuple[str | None, str]:
    """Name the first offending parameter and say what is wrong with it."""
    errors: Sequence[Any] = exc.errors()
    if not errors:
        return None, "invalid request"
    first = errors[0]
    location = [str(part) for part in first.get("loc", ())]
    where = location[0] if location else "request"
    parameter = location[-1] if len(location) > 1 else None
    text = str(first.get("msg", "invalid value"))
    if parameter is None:
        return None, f"{where}: {text}"
    return parameter, f"{where} parameter {parameter!r}: {text}"


def conditional_response(request: Request, body: bytes, media_type: str) -> Response:
    """Answer 304 when the client already holds this exact body (feed readers poll often)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"etag": etag, "cache-control": f"public, max-age={FEED_MAX_AGE}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
