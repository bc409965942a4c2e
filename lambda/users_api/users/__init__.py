"""The users resource: its record (model), repository, router and schema.

users_api.api composes `router` into the API; the function's services build `UserRepository`.
"""

from users_api.users.repository import UserRepository
from users_api.users.routes import router

__all__ = ["UserRepository", "router"]
