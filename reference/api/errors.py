"""JSON:API error documents (contract §1) and the handlers that turn exceptions into them."""

from __future__ import annotations

import uuid
from typing import Any, cast

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reference.exceptions import (
    ConflictError,
    FileTooLargeError,
    InvalidAttributes,
    NotFoundError,
    StoreUnavailable,
    ValidationError,
)

__all__ = ["ApiError", "error_response", "errors_response", "exception_handlers"]

JSON_API = "application/json"


class ApiError(Exception):
    """An HTTP error answered as a JSON:API error document."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


def error_response(status: int, code: str, message: str, field: str | None = None) -> Response:
    return errors_response(status, [(code, message, field)])


def errors_response(status: int, errors: list[tuple[str, str, str | None]]) -> Response:
    """One error object per (code, message, field), as the CMA lists them."""
    document = {"data": [_error(code, message, field) for code, message, field in errors]}
    return JSONResponse(document, status_code=status, media_type=JSON_API)


def _error(code: str, message: str, field: str | None) -> dict[str, Any]:
    details: dict[str, Any] = {"message": message}
    if field is not None:
        details = {"field": field, "message": message}
    return {
        "id": str(uuid.uuid4()),
        "type": "api_error",
        "attributes": {"code": code, "details": details},
    }


async def _api_error(request: Request, exc: Exception) -> Response:
    exc = cast(ApiError, exc)
    return error_response(exc.status, exc.code, exc.message, exc.field)


async def _validation(request: Request, exc: Exception) -> Response:
    exc = cast(ValidationError, exc)
    every = InvalidAttributes.each(exc)
    return errors_response(422, [(e.code, e.message, e.field) for e in every])


async def _not_found(request: Request, exc: Exception) -> Response:
    return error_response(404, "NOT_FOUND", str(exc))


async def _conflict(request: Request, exc: Exception) -> Response:
    exc = cast(ConflictError, exc)
    return error_response(409, "CONFLICT", exc.message, exc.field)


async def _too_large(request: Request, exc: Exception) -> Response:
    return error_response(413, "FILE_TOO_LARGE", str(exc))


async def _unavailable(request: Request, exc: Exception) -> Response:
    response = error_response(
        503, "STORE_UNAVAILABLE", f"the database cannot be used now; try again ({exc})"
    )
    response.headers["Retry-After"] = str(StoreUnavailable.retry_after)
    return response


async def _http(request: Request, exc: Exception) -> Response:
    exc = cast(HTTPException, exc)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
    return error_response(exc.status_code, code, str(exc.detail))


exception_handlers: dict[Any, Any] = {
    ApiError: _api_error,
    ValidationError: _validation,
    NotFoundError: _not_found,
    ConflictError: _conflict,
    FileTooLargeError: _too_large,
    StoreUnavailable: _unavailable,
    HTTPException: _http,
}
