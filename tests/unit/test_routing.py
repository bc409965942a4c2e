"""The dispatcher: route table as data, route-key and method+path matching, 404/405."""

from __future__ import annotations

import pytest

from users_api.api import ROUTER
from users_api.errors import MethodNotAllowed, NotFound
from users_api.http import Request, Response
from users_api.routing import Router

CONTRACT = {
    "POST /users",
    "GET /users",
    "GET /users/{user_id}",
    "PUT /users/{user_id}",
    "PATCH /users/{user_id}",
    "DELETE /users/{user_id}",
    "GET /hello",
    "GET /openapi.json",
}


def echo_router() -> Router[None]:
    router: Router[None] = Router()
    for key in ("GET /a", "GET /a/{id}", "DELETE /a/{id}", "GET /a/{id}/b"):
        method, path = key.split(" ")

        @router.route(method, path)
        def handle(request: Request, _: None, key: str = key) -> Response:
            return Response(200, f"{key}|{request.path_params}")

    return router


def test_route_table_is_the_contract() -> None:
    assert set(ROUTER.route_keys()) == CONTRACT
    assert len(ROUTER.route_keys()) == len(CONTRACT)


def test_dispatch_uses_the_route_key_when_given() -> None:
    request = Request("GET", "/ignored", route_key="GET /a/{id}", path_params={"id": "7"})

    assert echo_router().dispatch(request, None).body == "GET /a/{id}|{'id': '7'}"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/a", "GET /a|{}"),
        ("GET", "/a/", "GET /a|{}"),
        ("GET", "/a/x%2Fy", "GET /a/{id}|{'id': 'x/y'}"),
        ("DELETE", "/a/9", "DELETE /a/{id}|{'id': '9'}"),
        ("GET", "/a/9/b", "GET /a/{id}/b|{'id': '9'}"),
    ],
)
def test_dispatch_matches_method_and_path_without_a_route_key(
    method: str, path: str, body: str
) -> None:
    assert echo_router().dispatch(Request(method, path), None).body == body


def test_unknown_path_is_404() -> None:
    with pytest.raises(NotFound):
        echo_router().resolve(Request("GET", "/b"))


def test_known_path_wrong_method_is_405_with_allow() -> None:
    with pytest.raises(MethodNotAllowed) as raised:
        echo_router().resolve(Request("PUT", "/a/1"))
    assert raised.value.headers == {"Allow": "GET, HEAD, DELETE"}


def test_head_is_served_by_the_get_route_without_a_body() -> None:
    response = echo_router().dispatch(Request("HEAD", "/a/7"), None)

    assert response.status == 200
    assert response.body is None
    assert response.headers["Content-Type"] == "application/json"
    assert response.to_event()["body"] == ""


def test_head_on_a_path_without_get_is_405() -> None:
    router: Router[None] = Router()
    router.route("POST", "/p")(lambda request, _: Response(201))

    with pytest.raises(MethodNotAllowed) as raised:
        router.resolve(Request("HEAD", "/p"))
    assert raised.value.headers == {"Allow": "POST"}


def test_unknown_route_key_falls_back_to_path_matching() -> None:
    request = Request("GET", "/a", route_key="ANY /{proxy+}")

    assert echo_router().dispatch(request, None).body == "GET /a|{}"


def test_duplicate_route_is_refused() -> None:
    router = echo_router()
    with pytest.raises(ValueError, match="duplicate"):
        router.route("GET", "/a")(lambda request, _: Response(200))
