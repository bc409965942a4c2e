"""The contract, route by route, through `handler(event, context)` against moto."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.conftest import Api, load_event, stored_emails, stored_users
from users_api.users import UserRepository
from users_api.users.schema import UserModel as User
from users_api.users.schema import UserPage

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def create(api: Api, **body: Any) -> dict[str, Any]:
    result = api("POST", "/users", body=body, route_key="POST /users")
    assert result.status == 201, result.body
    User.model_validate(result.body, strict=True)  # responses hold to the schema
    return dict(result.body)


# -- POST /users ---------------------------------------------------------------------------


def test_create_from_aws_shaped_event_returns_201_location_and_user(
    api: Api, dynamodb: Any
) -> None:
    result = api.send(load_event("create_user"))

    assert result.status == 201
    assert result.headers["Location"] == "/users/01"
    assert result.headers["Content-Type"] == "application/json"
    assert result.headers["ETag"] == '"1"'
    assert result.headers["X-Request-Id"] == "UTaJdgGFoAMEVxQ="
    user = result.body
    assert user["user_id"] == "01"
    assert user["name"] == "Joy"
    assert user["email"] is None
    assert user["version"] == 1
    assert ISO_UTC.match(user["created_at"])
    assert user["updated_at"] == user["created_at"]
    assert stored_users(dynamodb)["01"]["name"] == {"S": "Joy"}


def test_create_with_base64_body_and_cookies_stores_lower_case_email(
    api: Api, dynamodb: Any
) -> None:
    result = api.send(load_event("create_user_base64"))

    assert result.status == 201
    assert result.body["name"] == "Zé"
    assert result.body["email"] == "ze@example.com"
    assert stored_emails(dynamodb) == {"ze@example.com": "02"}


def test_create_without_user_id_generates_one(api: Api) -> None:
    result = api("POST", "/users", body={"name": "Ann"})

    assert result.status == 201
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", result.body["user_id"])
    assert result.headers["Location"] == f"/users/{result.body['user_id']}"


def test_create_trims_name(api: Api) -> None:
    assert create(api, user_id="a", name="  Joy  ")["name"] == "Joy"


def test_create_with_taken_user_id_returns_409_and_keeps_the_original(
    api: Api, dynamodb: Any
) -> None:
    create(api, user_id="01", name="Joy")

    result = api("POST", "/users", body={"user_id": "01", "name": "Impostor", "email": "i@x.io"})

    assert result.status == 409
    assert result.body["code"] == "user_exists"
    assert stored_users(dynamodb)["01"]["name"] == {"S": "Joy"}
    assert stored_emails(dynamodb) == {}


def test_create_with_taken_email_returns_409_in_any_case(api: Api, dynamodb: Any) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")

    result = api("POST", "/users", body={"user_id": "02", "name": "Jo", "email": "JOY@example.COM"})

    assert result.status == 409
    assert result.body["code"] == "email_taken"
    assert set(stored_users(dynamodb)) == {"01"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "01"}, "name"),
        ({"user_id": "01", "name": "   "}, "name"),
        ({"user_id": "01", "name": "x" * 201}, "name"),
        ({"user_id": "01", "name": 7}, "name"),
        ({"user_id": "bad id!", "name": "Joy"}, "user_id"),
        ({"user_id": "", "name": "Joy"}, "user_id"),
        ({"user_id": "x" * 65, "name": "Joy"}, "user_id"),
        ({"user_id": 1, "name": "Joy"}, "user_id"),
        ({"user_id": "01", "name": "Joy", "email": "not-an-email"}, "email"),
        ({"user_id": "01", "name": "Joy", "email": "a@b"}, "email"),
        ({"user_id": "01", "name": "Joy", "admin": True}, "admin"),
        ({"user_id": "01", "name": "Joy", "version": 9}, "version"),
    ],
)
def test_create_with_invalid_field_returns_400_naming_it_and_writes_nothing(
    api: Api, dynamodb: Any, body: dict[str, Any], field: str
) -> None:
    result = api("POST", "/users", body=body)

    assert result.status == 400
    assert result.body["code"] == "validation_error"
    assert field in [f["field"] for f in result.body["fields"]]
    assert result.body["error"]
    assert stored_users(dynamodb) == {}


def test_validation_lists_every_bad_field(api: Api) -> None:
    result = api("POST", "/users", body={"user_id": "!", "email": "x", "extra": 1})

    assert result.status == 400
    assert {f["field"] for f in result.body["fields"]} == {"user_id", "name", "email", "extra"}


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"raw_body": "{not json"}, 400, "invalid_json"),
        ({"raw_body": "[1, 2]"}, 400, "invalid_body"),
        ({"raw_body": '"Joy"'}, 400, "invalid_body"),
        ({"raw_body": "null"}, 400, "invalid_body"),
        ({}, 400, "body_required"),
        ({"raw_body": "%%%not base64", "base64_body": False, "headers": {}}, 400, "invalid_json"),
        ({"raw_body": '{"name": "' + "x" * (64 * 1024) + '"}'}, 413, "payload_too_large"),
    ],
)
def test_unreadable_bodies_are_4xx_json_and_write_nothing(
    api: Api, dynamodb: Any, kwargs: dict[str, Any], status: int, code: str
) -> None:
    result = api("POST", "/users", **kwargs)

    assert result.status == status
    assert result.body["code"] == code
    assert result.headers["Content-Type"] == "application/json"
    assert stored_users(dynamodb) == {}


def test_undecodable_base64_body_is_400(api: Api, dynamodb: Any) -> None:
    event = load_event("create_user_base64")
    event["body"] = "not*base64!"

    result = api.send(event)

    assert result.status == 400
    assert result.body["code"] == "invalid_base64"
    assert stored_users(dynamodb) == {}


def test_oversized_base64_body_is_413(api: Api) -> None:
    result = api("POST", "/users", raw_body="x" * (70 * 1024), base64_body=True)

    assert result.status == 413


# -- GET /users?id= / ?email= / /users/{user_id} -------------------------------------------------


def test_get_by_query_id_returns_user_and_etag(api: Api) -> None:
    created = create(api, user_id="01", name="Joy")

    result = api("GET", "/users", query={"id": "01"}, route_key="GET /users")

    assert result.status == 200
    assert result.body == created
    assert result.headers["ETag"] == '"1"'


def test_get_by_path_from_aws_shaped_event(api: Api) -> None:
    created = create(api, user_id="01", name="Joy")

    result = api.send(load_event("get_user_by_path"))

    assert result.status == 200
    assert result.body == created
    assert result.headers["ETag"] == '"1"'


def test_get_by_path_through_default_route_extracts_the_parameter(api: Api) -> None:
    create(api, user_id="a-b_C", name="Joy")

    assert api("GET", "/users/a-b_C").body["user_id"] == "a-b_C"


@pytest.mark.parametrize("how", ["query", "path"])
def test_get_missing_user_returns_404(api: Api, how: str) -> None:
    if how == "query":
        result = api("GET", "/users", query={"id": "nobody"})
    else:
        result = api(
            "GET",
            "/users/nobody",
            route_key="GET /users/{user_id}",
            path_params={"user_id": "nobody"},
        )

    assert result.status == 404
    assert result.body["code"] == "user_not_found"


def test_get_by_email_is_case_insensitive(api: Api) -> None:
    created = create(api, user_id="01", name="Joy", email="joy@example.com")

    result = api("GET", "/users", query={"email": "Joy@Example.com"})

    assert result.status == 200
    assert result.body == created


def test_get_by_unknown_email_returns_404(api: Api) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")

    assert api("GET", "/users", query={"email": "ann@example.com"}).status == 404


@pytest.mark.parametrize(
    "query",
    [
        [("id", "bad id")],
        [("email", "nope")],
        [("id", "01"), ("id", "02")],
        [("colour", "red")],
    ],
)
def test_get_users_with_bad_selectors_is_400(api: Api, query: list[tuple[str, str]]) -> None:
    result = api("GET", "/users", query=query)

    assert result.status == 400
    assert result.body["code"] in {"invalid_query", "validation_error"}


@pytest.mark.parametrize(
    "query",
    [
        [("id", "01"), ("email", "joy@example.com")],
        [("id", "01"), ("limit", "5")],
        [("email", "joy@example.com"), ("next_token", "abc")],
        [("id", "01"), ("created_after", "2026-11-23")],
    ],
)
def test_get_users_with_parameters_of_two_uses_is_422(
    api: Api, query: list[tuple[str, str]]
) -> None:
    """Each parameter is valid on its own; together they contradict each other."""
    create(api, user_id="01", name="Joy", email="joy@example.com")

    result = api("GET", "/users", query=query)

    assert result.status == 422
    assert result.body["code"] == "invalid_query"


# -- GET /users (list) ---------------------------------------------------------------------


def test_list_pages_return_every_user_exactly_once_with_full_pages(api: Api) -> None:
    ids = {f"u{i:02d}" for i in range(23)}
    for user_id in ids:
        create(api, user_id=user_id, name=user_id)

    seen: list[str] = []
    sizes: list[int] = []
    token = None
    while True:
        query = {"limit": "5"} | ({"next_token": token} if token else {})
        result = api("GET", "/users", query=query)
        assert result.status == 200
        UserPage.model_validate(result.body, strict=True)
        assert result.body["count"] == len(result.body["items"])
        sizes.append(result.body["count"])
        seen += [user["user_id"] for user in result.body["items"]]
        token = result.body["next_token"]
        if token is None:
            break

    assert sorted(seen) == sorted(ids)
    assert sizes == [5, 5, 5, 5, 3]


def test_list_whose_last_page_is_full_has_no_empty_page_after_it(api: Api) -> None:
    for i in range(4):
        create(api, user_id=f"u{i}", name="x")

    first = api("GET", "/users", query={"limit": "2"}).body
    second = api("GET", "/users", query={"limit": "2", "next_token": first["next_token"]}).body

    assert second["count"] == 2
    assert second["next_token"] is None


def test_list_defaults_to_ten(api: Api) -> None:
    for i in range(12):
        create(api, user_id=f"u{i}", name="x")

    body = api("GET", "/users").body

    assert body["count"] == 10
    assert body["next_token"]


def test_list_empty_table(api: Api) -> None:
    assert api("GET", "/users").body == {"items": [], "count": 0, "next_token": None}


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "1.5", ""])
def test_list_with_bad_limit_is_400(api: Api, limit: str) -> None:
    result = api("GET", "/users", query={"limit": limit})

    assert result.status == 400
    assert result.body["fields"][0]["field"] == "limit"


def test_list_with_repeated_limit_from_aws_event_is_400(api: Api) -> None:
    result = api.send(load_event("list_users_repeated_limit"))

    assert result.status == 400
    assert result.body["fields"][0]["field"] == "limit"


@pytest.mark.parametrize("token", ["garbage", "MDE", "MDE.AAAAAAAAAAAAAAAA", "!!!.???", "."])
def test_list_with_forged_token_is_400(api: Api, token: str) -> None:
    create(api, user_id="01", name="Joy")

    result = api("GET", "/users", query={"next_token": token})

    assert result.status == 400
    assert result.body["code"] == "invalid_next_token"


def test_list_with_token_edited_to_another_user_is_422(api: Api) -> None:
    for i in range(3):
        create(api, user_id=f"u{i}", name="x")
    token = api("GET", "/users", query={"limit": "1"}).body["next_token"]
    payload, signature = token.split(".")
    forged = f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{signature}"

    assert api("GET", "/users", query={"next_token": forged}).status == 422


# -- PUT /users/{user_id} --------------------------------------------------------------------


def test_put_replaces_mutable_fields_and_bumps_version(api: Api, dynamodb: Any) -> None:
    created = create(api, user_id="01", name="Joy", email="joy@example.com")

    result = api("PUT", "/users/01", body={"name": "Joy B", "email": "JB@example.com"})

    assert result.status == 200
    user = result.body
    User.model_validate(user, strict=True)
    assert (user["name"], user["email"], user["version"]) == ("Joy B", "jb@example.com", 2)
    assert user["created_at"] == created["created_at"]
    assert user["updated_at"] >= created["updated_at"]
    assert result.headers["ETag"] == '"2"'
    assert stored_emails(dynamodb) == {"jb@example.com": "01"}
    assert api("GET", "/users/01").body == user


def test_put_without_email_removes_it_and_frees_it(api: Api, dynamodb: Any) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")

    result = api("PUT", "/users/01", body={"name": "Joy"})

    assert result.status == 200
    assert result.body["email"] is None
    assert "email" not in stored_users(dynamodb)["01"]
    assert stored_emails(dynamodb) == {}
    assert api("GET", "/users", query={"email": "joy@example.com"}).status == 404
    create(api, user_id="02", name="Other", email="joy@example.com")


def test_put_keeping_the_same_email_takes_one_round_trip(api: Api, calls: list[str]) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")
    calls.clear()

    assert api("PUT", "/users/01", body={"name": "Joy B", "email": "joy@example.com"}).status == 200
    assert calls == ["UpdateItem"]


def test_put_missing_user_is_404_and_never_creates(api: Api, dynamodb: Any) -> None:
    result = api("PUT", "/users/ghost", body={"name": "Ghost", "email": "g@example.com"})

    assert result.status == 404
    assert stored_users(dynamodb) == {}
    assert stored_emails(dynamodb) == {}


def test_put_with_taken_email_is_409_and_changes_nothing(api: Api, dynamodb: Any) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")
    create(api, user_id="02", name="Ann", email="ann@example.com")
    before = stored_users(dynamodb)

    result = api("PUT", "/users/02", body={"name": "Ann", "email": "joy@example.com"})

    assert result.status == 409
    assert result.body["code"] == "email_taken"
    assert stored_users(dynamodb) == before
    assert stored_emails(dynamodb) == {"joy@example.com": "01", "ann@example.com": "02"}


@pytest.mark.parametrize(
    "body",
    [{"email": "a@example.com"}, {"name": ""}, {"name": "Joy", "user_id": "02"}, {"name": None}],
)
def test_put_with_invalid_body_is_400(api: Api, dynamodb: Any, body: dict[str, Any]) -> None:
    create(api, user_id="01", name="Joy")

    result = api("PUT", "/users/01", body=body)

    assert result.status == 400
    assert stored_users(dynamodb)["01"]["version"] == {"N": "1"}


def test_put_with_matching_if_match_succeeds(api: Api) -> None:
    create(api, user_id="01", name="Joy")

    result = api("PUT", "/users/01", body={"name": "Joy B"}, headers={"If-Match": '"1"'})

    assert result.status == 200
    assert result.body["version"] == 2


@pytest.mark.parametrize("etag", ['"2"', 'W/"1"', '"abc"'])
def test_put_with_stale_if_match_is_412_and_changes_nothing(
    api: Api, dynamodb: Any, etag: str
) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")

    result = api(
        "PUT", "/users/01", body={"name": "X", "email": "x@example.com"}, headers={"If-Match": etag}
    )

    assert result.status == 412
    assert result.body["code"] == "precondition_failed"
    assert stored_users(dynamodb)["01"]["name"] == {"S": "Joy"}
    assert stored_emails(dynamodb) == {"joy@example.com": "01"}


def test_if_match_on_missing_user_is_404(api: Api) -> None:
    assert api("PUT", "/users/ghost", body={"name": "G"}, headers={"If-Match": '"1"'}).status == 404


@pytest.mark.parametrize(
    "header",
    [
        "1",  # not an entity tag
        '"01"',  # strong comparison is character by character: not our tag for version 1
        'W/"1"',  # weak tags never match strongly
        '"\u00b2"',  # a superscript two: isdigit() is true, int() fails
        '"' + "1" * 5000 + '"',  # beyond Python's int-string limit
        '"' + "9" * 39 + '"',  # beyond DynamoDB's 38 digits
        ", ".join(f'"{n}"' for n in range(2, 130)),  # more tags than DynamoDB's IN takes
        '"1", ' * 30 + '"1"',  # more tags than any client needs, even with the right one
    ],
)
def test_if_match_with_a_tag_this_api_never_issues_matches_nothing(
    api: Api, dynamodb: Any, header: str
) -> None:
    create(api, user_id="01", name="Joy")

    result = api("PUT", "/users/01", body={"name": "G"}, headers={"If-Match": header})

    assert result.status == 412
    assert result.body["code"] == "precondition_failed"
    assert stored_users(dynamodb)["01"]["name"] == {"S": "Joy"}


def test_if_match_star_and_lists(api: Api) -> None:
    create(api, user_id="01", name="Joy")

    assert api("PUT", "/users/01", body={"name": "A"}, headers={"If-Match": "*"}).status == 200
    assert (
        api("PUT", "/users/01", body={"name": "B"}, headers={"If-Match": '"7", "2"'}).status == 200
    )


# -- PATCH /users/{user_id} ------------------------------------------------------------------


def test_patch_merges_name_only_and_keeps_email(api: Api, calls: list[str]) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")
    calls.clear()

    result = api(
        "PATCH",
        "/users/01",
        body={"name": "Joy B"},
        headers={"Content-Type": "application/merge-patch+json"},
    )

    assert result.status == 200
    assert (result.body["name"], result.body["email"], result.body["version"]) == (
        "Joy B",
        "joy@example.com",
        2,
    )
    assert calls == ["UpdateItem"]


def test_patch_null_email_removes_it(api: Api, dynamodb: Any) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")

    result = api("PATCH", "/users/01", body={"email": None})

    assert result.status == 200
    assert result.body["email"] is None
    assert result.body["name"] == "Joy"
    assert stored_emails(dynamodb) == {}


def test_patch_sets_email_when_there_was_none(api: Api, dynamodb: Any) -> None:
    create(api, user_id="01", name="Joy")

    result = api("PATCH", "/users/01", body={"email": "Joy@Example.com"})

    assert result.body["email"] == "joy@example.com"
    assert stored_emails(dynamodb) == {"joy@example.com": "01"}


def test_patch_empty_object_is_a_no_op_that_writes_nothing(
    api: Api, dynamodb: Any, calls: list[str]
) -> None:
    created = create(api, user_id="01", name="Joy")
    calls.clear()

    result = api("PATCH", "/users/01", body={})

    assert result.status == 200
    assert result.body == created
    assert result.headers["ETag"] == '"1"'
    assert calls == ["GetItem"]
    assert stored_users(dynamodb)["01"]["version"] == {"N": "1"}
    assert api("PATCH", "/users/01", body={}, headers={"If-Match": '"2"'}).status == 412
    assert api("PATCH", "/users/nobody", body={}).status == 404


@pytest.mark.parametrize(
    "body", [{"name": None}, {"name": ""}, {"created_at": "x"}, {"email": "bad"}]
)
def test_patch_with_invalid_body_is_400(api: Api, dynamodb: Any, body: dict[str, Any]) -> None:
    create(api, user_id="01", name="Joy")

    result = api("PATCH", "/users/01", body=body)

    assert result.status == 400
    assert result.body["code"] == "validation_error"
    assert stored_users(dynamodb)["01"]["version"] == {"N": "1"}


def test_patch_missing_user_is_404(api: Api, dynamodb: Any) -> None:
    assert api("PATCH", "/users/ghost", body={"name": "G"}).status == 404
    assert stored_users(dynamodb) == {}


def test_patch_with_taken_email_is_409(api: Api) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")
    create(api, user_id="02", name="Ann")

    result = api("PATCH", "/users/02", body={"email": "joy@example.com"})

    assert result.status == 409
    assert api("GET", "/users/02").body["email"] is None


def test_patch_with_stale_if_match_is_412(api: Api) -> None:
    create(api, user_id="01", name="Joy")
    api("PATCH", "/users/01", body={"name": "A"})

    result = api("PATCH", "/users/01", body={"name": "B"}, headers={"If-Match": '"1"'})

    assert result.status == 412
    assert result.body["current_version"] == 2
    assert api("GET", "/users/01").body["name"] == "A"


# -- DELETE /users/{user_id} -----------------------------------------------------------------


def test_delete_returns_204_empty_and_frees_the_email(api: Api, dynamodb: Any) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")

    result = api(
        "DELETE", "/users/01", route_key="DELETE /users/{user_id}", path_params={"user_id": "01"}
    )

    assert result.status == 204
    assert result.raw["body"] == ""
    assert stored_users(dynamodb) == {}
    assert stored_emails(dynamodb) == {}
    assert api("GET", "/users/01").status == 404
    create(api, user_id="02", name="Ann", email="joy@example.com")


def test_delete_without_email_takes_one_round_trip(api: Api, calls: list[str]) -> None:
    create(api, user_id="01", name="Joy")
    calls.clear()

    assert api("DELETE", "/users/01").status == 204
    assert calls == ["DeleteItem"]


def test_delete_missing_user_is_404(api: Api) -> None:
    result = api("DELETE", "/users/ghost")

    assert result.status == 404
    assert result.body["code"] == "user_not_found"


def test_delete_with_stale_if_match_is_412_and_keeps_the_user(api: Api, dynamodb: Any) -> None:
    create(api, user_id="01", name="Joy", email="joy@example.com")

    assert api("DELETE", "/users/01", headers={"If-Match": '"3"'}).status == 412
    assert set(stored_users(dynamodb)) == {"01"}
    assert api("DELETE", "/users/01", headers={"If-Match": '"1"'}).status == 204


# -- /hello, unknown routes, errors -------------------------------------------------------------


def test_hello(api: Api) -> None:
    result = api("GET", "/hello", route_key="GET /hello")

    assert result.status == 200
    assert result.body == {"message": "Hello from Lambda", "path": "/hello"}


def test_unknown_route_from_aws_default_event_is_json_404(api: Api) -> None:
    result = api.send(load_event("default_route_unknown_path"))

    assert result.status == 404
    assert result.body["code"] == "route_not_found"
    assert result.body["error"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/users", "POST, GET, HEAD"),
        ("POST", "/users/01", "GET, HEAD, PUT, PATCH, DELETE"),
        ("PUT", "/hello", "GET, HEAD"),
    ],
)
def test_wrong_method_on_known_path_is_405_with_allow(
    api: Api, method: str, path: str, allow: str
) -> None:
    result = api(method, path, body={})

    assert result.status == 405
    assert result.headers["Allow"] == allow
    assert result.body["code"] == "method_not_allowed"


def test_unexpected_exception_is_generic_500_with_request_id(
    api: Api, app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*_: Any, **__: Any) -> None:
        raise ValueError("secret internals")

    monkeypatch.setattr(app.SERVICES.repository(UserRepository), "get", explode)

    result = api("GET", "/users/01", request_id="req-500")

    assert result.status == 500
    assert result.body == {
        "error": "Internal server error",
        "code": "internal_error",
        "request_id": "req-500",
    }
    assert "secret" not in result.raw["body"]
    assert "Traceback" not in result.raw["body"]
    assert "secret internals" in caplog.text


def test_head_of_a_user_has_the_get_headers_and_no_body(api: Api) -> None:
    create(api, user_id="01", name="Joy")

    result = api("HEAD", "/users/01")

    assert result.status == 200
    assert result.raw["body"] == ""
    assert result.headers["ETag"] == '"1"'
    assert result.headers["Content-Type"] == "application/json"
