"""Errors raised by the COM library; none of them knows about HTTP.

The CLI prints them as one line; ``api/errors.py`` maps each class to a status code.
"""

from __future__ import annotations


class ComError(Exception):
    """Base class of every error COM reports to a user."""


class ConfigError(ComError):
    """A setting or configuration file is missing or invalid."""


class NotFoundError(ComError):
    """A requested record (upload, area, plan, ...) does not exist."""


class ValidationError(ComError):
    """User input is well-formed but not acceptable (wrong code, out of range, ...)."""


class ParseError(ValidationError):
    """A value (coordinate, date, severity, address) cannot be read."""


class InvalidQuery(ValidationError):
    """A query parameter (bbox, datetime, limit, filter, unknown name ...) is malformed.

    The API answers 400, as OGC API - Features requires for invalid query parameters.
    """


class GeodataError(ComError):
    """Reference boundary data is missing, corrupt or inconsistent."""


class UploadError(ValidationError):
    """An uploaded file cannot be read at all (wrong type, corrupt, too large)."""


class ConflictError(ComError):
    """The request conflicts with stored state (e.g. an idempotency key reused with other data)."""


class PermissionDenied(ComError):
    """The caller is not allowed to do this (role, province restriction, scope)."""


class DatabaseUnavailable(ComError):
    """The database cannot be reached right now; retrying later may succeed."""


class ServerBusy(ComError):
    """The service is at capacity (no database connection or worker free); retry shortly."""
