"""The request's deadline: retries stop in time for the function to answer with its own JSON.

`handler` starts one per invocation from `context.get_remaining_time_in_millis()`, less
`MARGIN_S`: the longest a single DynamoDB attempt may still take once it has started (the client's
connect + read timeouts, see app.py) plus time to answer. Retry loops in the store call
`current().check()` before each attempt and before backing off; the SDK's own retries are cut by a
`before-send` hook (`refuse_late_attempts`) and a `needs-retry` hook (`stop_late_retries`: no
back-off sleep that could end past the deadline). Running out raises `DeadlineExceeded`, a 503,
never a function timeout (which API Gateway would turn into a bare 503/504 without our JSON).

The deadline lives in a context variable, so concurrent requests in one process (the tests' races)
each see their own.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

# One SDK attempt may take connect (1 s) + read (2 s); then the response must still be built.
MARGIN_S: Final = 3.5
# With no Lambda context (tests, the bench), a request gets what the default function has.
DEFAULT_BUDGET_S: Final = 10.0


class DeadlineExceeded(Exception):
    """No time is left for another attempt within the function's timeout."""


@dataclass(frozen=True, slots=True)
class Deadline:
    at: float  # time.monotonic() by which retrying must stop

    @classmethod
    def from_context(cls, context: Any, margin_s: float = MARGIN_S) -> Deadline:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        budget = remaining() / 1000 if callable(remaining) else DEFAULT_BUDGET_S
        return cls(time.monotonic() + budget - margin_s)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise DeadlineExceeded


_CURRENT: ContextVar[Deadline | None] = ContextVar("users_api_deadline", default=None)


def start(deadline: Deadline) -> None:
    """Make `deadline` the current request's (for this thread or task)."""
    _CURRENT.set(deadline)


def current() -> Deadline:
    """The current request's deadline; a default budget outside a request."""
    found = _CURRENT.get()
    if found is None:
        found = Deadline(time.monotonic() + DEFAULT_BUDGET_S)
        _CURRENT.set(found)
    return found


def refuse_late_attempts(**_: Any) -> None:
    """botocore `before-send` hook: no new attempt (first or retry) once the deadline passed."""
    deadline = _CURRENT.get()
    if deadline is not None:
        deadline.check()


# botocore's standard retry mode sleeps up to min(2 ** (attempts - 1), 20) s before retrying a
# throttled call (ExponentialBackoff, 1 s throttling scale): 1, 2, then 4 s with 3 retries.
MAX_SDK_BACKOFF_S: Final = 20.0


def stop_late_retries(attempts: int, **_: Any) -> bool | None:
    """botocore `needs-retry` hook, registered before the SDK's own: no retry whose back-off
    could end past the deadline (the sleep happens before `refuse_late_attempts` can look), so
    the last error stands. None leaves the decision to the SDK."""
    deadline = _CURRENT.get()
    if deadline is None:
        return None
    if deadline.remaining() < min(2.0 ** (attempts - 1), MAX_SDK_BACKOFF_S):
        return False
    return None
