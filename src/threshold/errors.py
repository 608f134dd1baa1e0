"""The one exception family. Every message is a sentence a person can act on.

Interfaces map these to HTTP statuses and exit codes in exactly one place each
(`api/errors.py`, `cli.py`).
"""

from __future__ import annotations

from collections.abc import Sequence


class ThresholdError(Exception):
    """Base of every error Threshold raises on purpose. `retryable` says whether trying again can help."""

    status = 400
    exit_code = 1
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        suggestions: Sequence[str] = (),
        request_access: str | None = None,
        near: str | None = None,
    ) -> None:
        # One line, always, in no interface's words: each interface adds its own way to act on it.
        super().__init__(" ".join(str(message).split()))
        self.suggestions: tuple[str, ...] = tuple(suggestions)[:5]
        """Names the person may see that are close to what they wrote ("did you mean")."""
        self.request_access = request_access
        """The dataset the person may ask access to (the browser offers a button, the CLI a command)."""
        self.near = near
        """The word of the query the error is about (the gateway turns it into a position)."""

    @property
    def message(self) -> str:
        return str(self)


class InvalidInput(ThresholdError):
    """The input (file, SQL, name, option) cannot be used as given."""

    status = 422
    exit_code = 2


class NotFound(ThresholdError):
    status = 404
    exit_code = 3


class Denied(ThresholdError):
    """Not allowed; the message names the rule and never the protected data."""

    status = 403
    exit_code = 4


class Unauthenticated(ThresholdError):
    status = 401
    exit_code = 4


class Conflict(ThresholdError):
    """The request clashes with the current state (exists already, schema does not fit...)."""

    status = 409
    exit_code = 5


class TransientError(ThresholdError):
    """A concurrent change got in the way (e.g. an Iceberg commit conflict); retrying can succeed."""

    status = 503
    exit_code = 6
    retryable = True


class LimitExceeded(ThresholdError):
    """A limit stopped the work (time, result size, file size...); the message names the limit and the
    setting that sets it, e.g. `limits.query_seconds = 30 (THRESHOLD_LIMITS__QUERY_SECONDS)`."""

    status = 422
    exit_code = 7


class TooLarge(LimitExceeded):
    """An upload or a file is over a size limit (HTTP 413)."""

    status = 413


class Busy(ThresholdError):
    """Too much running at once (HTTP 429): trying again after `retry_after` seconds can succeed."""

    status = 429
    exit_code = 8
    retryable = True

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(-(-retry_after // 1)))  # whole seconds, rounded up, at least 1


class OutOfSpace(ThresholdError):
    """A disk is full: the message names the folder (warehouse, home) and the space it needed."""

    status = 507
    exit_code = 9
