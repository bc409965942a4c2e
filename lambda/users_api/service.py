"""The service's own routes: a greeting that needs no caller (a first curl, a health check)."""

from __future__ import annotations

from users_api.http import Request, Response, json_response
from users_api.routing import Components, Doc, Router
from users_api.services import Services


def _components() -> Components:
    from pydantic import BaseModel  # on the document's first build only: never on a cold start

    class Hello(BaseModel):
        """`GET /hello`: a greeting and the path it was asked on."""

        message: str
        path: str

    return Components(schemas={"Hello": (Hello, "serialization")})


router: Router[Services] = Router(
    tag="service", tag_description="About the service itself", components=_components
)


@router.route(
    "GET",
    "/hello",
    public=True,
    doc=Doc(
        "Say hello (no caller needed)",
        {200: "Hello"},
        description="A greeting and the path it was asked on: a check that the API is up.",
    ),
)
def hello(request: Request, _: Services) -> Response:
    return json_response(200, {"message": "Hello from Lambda", "path": request.path})
