"""Every error leaves as an OpenAI error object: {"error": {message, type, param, code}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from openmaas.errors import InvalidRequest, OpenMaaSError
from openmaas.schemas.openai import error_to_param

log = logging.getLogger("openmaas.api")

_HTTP_TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error",
               405: "invalid_request_error", 413: "invalid_request_error"}


def error_response(exc: OpenMaaSError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=exc.headers)


def _validation_error(exc: RequestValidationError) -> InvalidRequest:
    errors = exc.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return InvalidRequest("We could not parse the JSON body of your request: " + str(first.get("msg", "")).lower()
                              + ". The body must be a JSON object encoded as UTF-8.", code="invalid_json")
    loc = tuple(first.get("loc", ()))
    if loc[:1] in (("body",), ("query",), ("path",)):
        loc = loc[1:]
    param, message = error_to_param({**first, "loc": loc}) if first else (None, "Invalid request.")
    return InvalidRequest(message, param=param, code="invalid_value" if param else "invalid_request")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpenMaaSError)
    async def _ours(request: Request, exc: OpenMaaSError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(_validation_error(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        error = OpenMaaSError(str(exc.detail), code=None)
        error.status_code, error.type = exc.status_code, _HTTP_TYPES.get(exc.status_code, "invalid_request_error")
        if exc.status_code == 404:
            error.message = f"Unknown route: {request.method} {request.url.path}"
        elif exc.status_code == 400:
            error.message = f"Invalid request: {exc.detail}"
        return JSONResponse(error.to_dict(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(OpenMaaSError("The server had an error while processing your request.").to_dict(),
                            status_code=500)
