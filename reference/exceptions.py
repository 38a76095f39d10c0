"""The dispatcher's exceptions.

    DispatcherError
    ├── ConfigurationError      settings that cannot work (bad retry schedule, bad token)
    ├── ValidationError         an API body or attribute breaks the contract (422)
    │   ├── TemplateSyntaxError a Mustache template that does not parse (line, column)
    │   └── InvalidAttributes   several attributes at once, one ValidationError each
    ├── NotFoundError           no such webhook or call (404)
    ├── ConflictError           the change collides with existing state (409)
    ├── FileTooLargeError       an uploaded file passes the size limit (413)
    └── StoreError              the database is not what this version expects
        └── StoreUnavailable    the database cannot be reached or used now (503; try again)

Every exception carries what it is about, so that the API layer can turn it
into a JSON:API error naming the field, and a log line can name the webhook or
call.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DispatcherError",
    "FileTooLargeError",
    "InvalidAttributes",
    "NotFoundError",
    "StoreError",
    "StoreUnavailable",
    "TemplateSyntaxError",
    "ValidationError",
]


class DispatcherError(Exception):
    """Base class of every error the dispatcher raises on purpose."""


class ConfigurationError(DispatcherError):
    """A setting that cannot work."""


class ValidationError(DispatcherError):
    """Input that breaks the contract; `field` names the attribute (dotted path)."""

    code = "INVALID_FIELD"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message
        if code is not None:
            self.code = code


class InvalidAttributes(ValidationError):
    """Every attribute of one request that is wrong (the API answers one error each)."""

    def __init__(self, errors: list[ValidationError]) -> None:
        first = errors[0]
        super().__init__(first.field, first.message, code=first.code)
        self.errors = errors

    @staticmethod
    def each(error: ValidationError) -> list[ValidationError]:
        """The errors `error` stands for: itself, or the ones it gathers."""
        return error.errors if isinstance(error, InvalidAttributes) else [error]

    @staticmethod
    def raise_any(errors: list[ValidationError]) -> None:
        """Raise the one error, or all of them, if there are any."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise InvalidAttributes(errors)


class TemplateSyntaxError(ValidationError):
    """A Mustache template that does not parse, with the 1-based line and column."""

    def __init__(self, message: str, *, line: int, column: int, field: str = "") -> None:
        self.line = line
        self.column = column
        self.reason = message
        super().__init__(field, f"{message} (line {line}, column {column})")

    def for_field(self, field: str) -> TemplateSyntaxError:
        """The same error, attributed to an attribute of the webhook."""
        return TemplateSyntaxError(self.reason, line=self.line, column=self.column, field=field)


class NotFoundError(DispatcherError):
    """No such resource."""

    def __init__(self, kind: str, resource_id: str) -> None:
        super().__init__(f"{kind} {resource_id!r} not found")
        self.kind = kind
        self.resource_id = resource_id


class ConflictError(DispatcherError):
    """The change collides with state that exists (for example a duplicate name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class FileTooLargeError(DispatcherError):
    """An uploaded file is larger than the dispatcher takes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than the {limit} bytes an upload may have")
        self.limit = limit


class StoreError(DispatcherError):
    """The database cannot be used by this version of the dispatcher."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or used now: the connection was lost or cannot be
    made, or the database cannot write (a full disk). The operation did not happen, or
    it is unknown whether it did; try again."""

    #: seconds a client is asked to wait before trying again (`Retry-After`)
    retry_after = 1
