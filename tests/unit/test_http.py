"""Event -> Request and Response -> payload-2.0 translation, without DynamoDB."""

from __future__ import annotations

import base64
import json

import pytest

from tests.unit.conftest import load_event, make_event
from users_api.errors import BadRequest, NotFound, PayloadTooLarge
from users_api.http import MAX_BODY_BYTES, Response, error_response, parse_event


def test_parses_aws_documented_example() -> None:
    request = parse_event(load_event("base"))

    assert request.method == "POST"
    assert request.path == "/my/path"
    assert request.route_key is None  # $default: the dispatcher matches on method + path
    assert request.query == {"parameter1": "value1,value2", "parameter2": "value"}
    assert request.headers["header2"] == "value1,value2"
    assert request.body == b"Hello from Lambda"
    assert request.request_id == "id"
    assert request.path_params == {"parameter1": "value1"}


def test_route_key_and_path_parameters_come_from_api_gateway() -> None:
    request = parse_event(load_event("get_user_by_path"))

    assert request.route_key == "GET /users/{user_id}"
    assert request.path_params == {"user_id": "01"}


def test_headers_are_looked_up_case_insensitively() -> None:
    request = parse_event(make_event("GET", "/", headers={"If-Match": '"1"'}))

    assert request.header("IF-MATCH") == '"1"'


def test_query_built_from_raw_string_when_parameters_are_absent() -> None:
    event = load_event("base")
    del event["queryStringParameters"]

    assert parse_event(event).query == {"parameter1": "value1,value2", "parameter2": "value"}


def test_base64_body_is_decoded() -> None:
    request = parse_event(load_event("create_user_base64"))

    assert json.loads(request.body or b"")["email"] == "Ze@Example.com"


@pytest.mark.parametrize("body", ["****", "YWJj=x"])
def test_invalid_base64_is_bad_request(body: str) -> None:
    event = load_event("create_user_base64")
    event["body"] = body

    with pytest.raises(BadRequest) as raised:
        parse_event(event)
    assert raised.value.code == "invalid_base64"


def test_body_at_the_limit_is_accepted_and_one_byte_more_is_413() -> None:
    assert parse_event(make_event("POST", "/users", raw_body="x" * MAX_BODY_BYTES)).body
    with pytest.raises(PayloadTooLarge):
        parse_event(make_event("POST", "/users", raw_body="x" * (MAX_BODY_BYTES + 1)))
    encoded = base64.b64encode(b"x" * (MAX_BODY_BYTES + 1)).decode()
    with pytest.raises(PayloadTooLarge):
        parse_event(
            make_event("POST", "/users", raw_body=encoded, base64_body=False)
            | {"isBase64Encoded": True}
        )


def test_body_limit_counts_bytes_not_characters() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_event(make_event("POST", "/users", raw_body="é" * (MAX_BODY_BYTES // 2 + 1)))


def test_json_body_must_be_an_object() -> None:
    with pytest.raises(BadRequest) as raised:
        parse_event(make_event("POST", "/users", raw_body="[]")).json()
    assert raised.value.code == "invalid_body"


def test_json_body_must_be_utf8() -> None:
    event = make_event("POST", "/users", raw_body=base64.b64encode(b'{"a": "\xff"}').decode())
    event["isBase64Encoded"] = True

    with pytest.raises(BadRequest) as raised:
        parse_event(event).json()
    assert raised.value.code == "invalid_json"


def test_response_is_payload_2_0_with_json_content_type_and_request_id() -> None:
    event = Response(201, '{"a":1}', {"Location": "/users/1"}).to_event("rid")

    assert event == {
        "statusCode": 201,
        "headers": {
            "Location": "/users/1",
            "Content-Type": "application/json",
            "X-Request-Id": "rid",
        },
        "body": '{"a":1}',
        "isBase64Encoded": False,
    }


def test_empty_response_has_no_content_type() -> None:
    event = Response(204).to_event()

    assert event["body"] == ""
    assert "Content-Type" not in event["headers"]


def test_errors_render_the_one_error_shape() -> None:
    response = error_response(
        NotFound("User '1' not found", code="user_not_found", details={"x": 1})
    )

    assert response.status == 404
    assert json.loads(response.body or "") == {
        "error": "User '1' not found",
        "code": "user_not_found",
        "x": 1,
    }


def test_deeply_nested_json_is_bad_request_not_a_crash() -> None:
    with pytest.raises(BadRequest) as raised:
        parse_event(make_event("POST", "/users", raw_body="[" * 60000)).json()
    assert raised.value.code == "invalid_json"


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"requestContext": {}},
        {"requestContext": {"http": {"path": "/users"}}},
        {"httpMethod": "GET"},
    ],
)
def test_an_event_that_is_not_payload_2_0_is_a_clear_400(event: dict[str, object]) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_event(event)
    assert raised.value.code == "malformed_event"
    assert "requestContext.http.method" in raised.value.message
