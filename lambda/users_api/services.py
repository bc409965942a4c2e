"""What routes need beyond the request, built once per execution environment (users_api.app).

Every resource reaches its repository through `services.repository(Kind)`: repositories are
built from the gateway and the table names (`Kind(db, tables)`), once each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

from users_api import auth
from users_api.dynamo import Dynamo, Tables
from users_api.http import Request
from users_api.idempotency import IdempotencyStore


class RepositoryType(Protocol):
    def __init__(self, db: Dynamo, tables: Tables) -> None: ...


Repository = TypeVar("Repository", bound=RepositoryType)


@dataclass(frozen=True, slots=True)
class Services:
    db: Dynamo
    tables: Tables
    idempotency: IdempotencyStore
    auth: auth.Settings
    _repositories: dict[type[Any], Any] = field(default_factory=dict, repr=False)

    def repository(self, kind: type[Repository]) -> Repository:
        """The one `kind` repository of this environment (built on first use)."""
        found = self._repositories.get(kind)
        if found is None:
            found = self._repositories[kind] = kind(self.db, self.tables)
        return cast("Repository", found)


def caller(request: Request, services: Services) -> auth.Caller:
    """Who calls (401 when the stack's authorization needs a caller and there is none)."""
    return auth.caller_of(request.authorizer, services.auth)
