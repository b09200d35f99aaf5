"""One exception hierarchy for the whole platform, each mapped to an OpenAI error object.

`{"error": {"message", "type", "param", "code"}}` with the HTTP status that goes with it.
The mapping to a response lives in `api/errors.py`; everything else raises these.
"""

from __future__ import annotations


class OpenMaaSError(Exception):
    status_code = 500
    type = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers: dict[str, str] | None = None
        self.details: list[dict] | None = None  # an OpenMaaS extension: itemized problems (a file's line errors)
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class InvalidRequest(OpenMaaSError):
    status_code = 400
    type = "invalid_request_error"


class ContextLengthExceeded(InvalidRequest):
    code = "context_length_exceeded"


class AuthenticationError(OpenMaaSError):
    status_code = 401
    type = "authentication_error"
    code = "invalid_api_key"


class PermissionDenied(OpenMaaSError):
    status_code = 403
    type = "permission_error"
    code = "permission_denied"


class NotFound(OpenMaaSError):
    status_code = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class Conflict(OpenMaaSError):
    status_code = 409
    type = "invalid_request_error"
    code = "conflict"


class PayloadTooLarge(OpenMaaSError):
    status_code = 413
    type = "invalid_request_error"
    code = "request_too_large"


class Overloaded(OpenMaaSError):
    """The deployment's queue is full or a request waited too long: try again after a pause."""

    status_code = 429
    type = "rate_limit_exceeded"
    code = "server_overloaded"

    def __init__(self, message: str, *, retry_after_s: float):
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, round(retry_after_s)))}


class ModelNotReady(OpenMaaSError):
    """No replica of the model's deployment can take the request right now."""

    status_code = 503
    type = "server_error"
    code = "model_not_ready"


class EngineError(OpenMaaSError):
    """A worker failed while serving a request (crashed, cut the stream, answered garbage)."""

    status_code = 502
    type = "server_error"
    code = "engine_error"
