"""Domain errors are values with stable codes; the API maps them to 4xx `{code, message, detail}`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.utils.translation import gettext_lazy as _


class ErrorCode(StrEnum):
    VALIDATION = "validation_error"
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    NOT_AUTHENTICATED = "not_authenticated"
    ILLEGAL_TRANSITION = "illegal_transition"
    GUARD_FAILED = "guard_failed"
    CONFLICT = "conflict"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    UNSUPPORTED_FILE = "unsupported_file"
    FILE_TOO_LARGE = "file_too_large"


HTTP_STATUS = {
    ErrorCode.VALIDATION: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.PERMISSION_DENIED: 403,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.ILLEGAL_TRANSITION: 409,
    ErrorCode.GUARD_FAILED: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: 409,
    ErrorCode.UNSUPPORTED_FILE: 415,
    ErrorCode.FILE_TOO_LARGE: 413,
}


class DomainError(Exception):
    """A rule said no. `code` is stable for machines, `message` is translated for people."""

    code: ErrorCode = ErrorCode.CONFLICT

    def __init__(self, message: Any, *, code: ErrorCode | None = None, detail: Any = None) -> None:
        super().__init__(str(message))
        if code is not None:
            self.code = code
        self.message = message
        self.detail = detail

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": str(self.message), "detail": self.detail}


class ValidationFailed(DomainError):
    """Bad input; `detail` is a list of `{field, message}`."""

    code = ErrorCode.VALIDATION

    def __init__(self, errors: dict[str, Any] | list[dict[str, Any]], message: Any = None) -> None:
        if isinstance(errors, dict):
            errors = [{"field": f, "message": str(m)} for f, m in errors.items()]
        super().__init__(message or _("Some fields are not valid."), detail=errors)


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND

    def __init__(self, message: Any = None, detail: Any = None) -> None:
        super().__init__(message or _("Not found."), detail=detail)


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED

    def __init__(self, message: Any = None, detail: Any = None) -> None:
        super().__init__(message or _("Your role does not allow this action."), detail=detail)


class IllegalTransition(DomainError):
    code = ErrorCode.ILLEGAL_TRANSITION


class GuardFailed(DomainError):
    code = ErrorCode.GUARD_FAILED
