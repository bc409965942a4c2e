"""HTTP errors as values: each carries its status and machine code.

`http.error_response` renders every one as `{"error": ..., "code": ..., ...}`.
"""

from __future__ import annotations

from typing import Any


class HttpError(Exception):
    """An error the client caused (or may retry); rendered as `{"error", "code", ...}`."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.details}


class BadRequest(HttpError):
    status = 400
    code = "bad_request"


class ValidationFailed(BadRequest):
    """The body or query failed validation; `fields` names each bad field."""

    code = "validation_error"

    def __init__(
        self, fields: list[dict[str, str]], message: str = "Request validation failed"
    ) -> None:
        super().__init__(message, details={"fields": fields})


class NotFound(HttpError):
    status = 404
    code = "not_found"


class MethodNotAllowed(HttpError):
    status = 405
    code = "method_not_allowed"

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(
            f"Method {method} is not allowed on this path",
            details={"allowed": allowed},
            headers={"Allow": ", ".join(allowed)},
        )


class Conflict(HttpError):
    status = 409
    code = "conflict"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
        super().__init__(message, code=code, details=details, headers=headers)


class PreconditionFailed(HttpError):
    status = 412
    code = "precondition_failed"


class PayloadTooLarge(HttpError):
    status = 413
    code = "payload_too_large"


class Unauthorized(HttpError):
    """No valid identity: the route needs a signed-in caller."""

    status = 401
    code = "unauthorized"


class Forbidden(HttpError):
    """A valid identity that may not do this."""

    status = 403
    code = "forbidden"


class UnprocessableContent(HttpError):
    status = 422
    code = "unprocessable"


class ServiceUnavailable(HttpError):
    """DynamoDB is throttling or failing, or the request ran out of time: retry later."""

    status = 503
    code = "unavailable"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_s)})
