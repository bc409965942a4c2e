"""The router's path-template matcher (users_api.routing), for whatever matches paths outside it.

The function's router is the one implementation of "does `/users/{user_id}` match `/users/01`,
and with which parameters" (decoded, non-empty segments: users_api.http.path_segments). The
local front (tools/localaws/gateway_config.py), the contract checker (tests/contract.py) and the
bench
(tools/bench/cases.py) ask it through this module instead of keeping their own. API Gateway's
additions stay with the local front: greedy `{proxy+}` paths, ANY, `$default`, and which route
wins when several match.

    match_template("/users/{user_id}", "/users/a%20b")       # {"user_id": "a b"}
    most_specific(["/users/{user_id}", "/users/me"], "/users/me")   # ("/users/me", {})

users_api lives in lambda/: tools that match paths run with it on the import path
(PYTHONPATH=lambda, which make local, make bench and the tests set).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

try:
    from users_api.http import path_segments
    from users_api.routing import match_template as match_segments
except ModuleNotFoundError as error:
    raise ModuleNotFoundError(
        f"{error.name} not found: run the tools with lambda/ on the import path, e.g."
        " PYTHONPATH=lambda python -m tools.localaws.local (make local does)"
    ) from error


@lru_cache(maxsize=1024)
def _template(template: str) -> tuple[str, ...]:
    return tuple(path_segments(template))


def segments(path: str) -> list[str]:
    """A path's decoded, non-empty segments, as the router sees them."""
    return path_segments(path)


def match_template(template: str, path: str) -> dict[str, str] | None:
    """The path parameters when `path` matches `template`, None when it does not."""
    return match_segments(_template(template), path_segments(path))


def specificity(template: str) -> tuple[int, int]:
    """A sort key: fewer path variables first, then more literal segments first."""
    parts = path_segments(template)
    variables = sum(1 for part in parts if part.startswith("{"))
    return variables, -(len(parts) - variables)


def most_specific(templates: Iterable[str], path: str) -> tuple[str, dict[str, str]] | None:
    """The matching template with the fewest variables (`/users/me` before `/users/{id}`)."""
    found = [(t, p) for t in templates if (p := match_template(t, path)) is not None]
    return min(found, key=lambda item: specificity(item[0])) if found else None
