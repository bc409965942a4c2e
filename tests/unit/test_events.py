"""tools/events.py, the one payload-2.0 builder, against AWS's example and the captured fixtures."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.unit.conftest import EVENTS, load_event
from tools.events import http_api_event, is_text_content_type

ADDED_BY_THE_GATEWAY = (
    "x-forwarded-for",
    "x-forwarded-port",
    "x-forwarded-proto",
    "x-amzn-trace-id",
)


def rebuilt(fixture: dict[str, Any]) -> dict[str, Any]:
    """The fixture's request sent through the builder: what API Gateway would have sent."""
    context = fixture["requestContext"]
    headers = list(fixture["headers"].items())
    if fixture.get("cookies"):
        headers.append(("Cookie", "; ".join(fixture["cookies"])))
    body = fixture.get("body")
    raw = base64.b64decode(body) if body and fixture["isBase64Encoded"] else body
    return http_api_event(
        context["http"]["method"],
        fixture["rawPath"],
        route_key=fixture["routeKey"],
        path_params=fixture.get("pathParameters"),
        query=fixture["rawQueryString"],
        headers=headers,
        body=raw,
        base64_body=fixture["isBase64Encoded"] if body else None,
        request_id=context["requestId"],
        source_ip=context["http"]["sourceIp"],
        api_id=context["apiId"],
        stage=context["stage"],
        now=context["timeEpoch"] / 1000,
    )


# base.json is AWS's documented example, edited by hand (no Host header, a time that disagrees
# with its epoch): it is compared field by field below; the others were captured whole.
CAPTURED = sorted(path.stem for path in EVENTS.glob("*.json") if path.stem != "base")


@pytest.mark.parametrize("name", CAPTURED)
def test_builder_reproduces_each_captured_fixture(name: str) -> None:
    fixture = load_event(name)
    event = rebuilt(fixture)

    for header in ADDED_BY_THE_GATEWAY:
        if header not in fixture["headers"]:
            del event["headers"][header]
    assert event == fixture


def test_documented_example_field_by_field() -> None:
    event = http_api_event(
        "POST",
        "/my/path",
        query=[("parameter1", "value1"), ("parameter1", "value2"), ("parameter2", "value")],
        headers=[
            ("Header1", "value1"),
            ("Header2", "value1"),
            ("Header2", "value2"),
            ("Cookie", "cookie1; cookie2"),
            ("User-Agent", "agent"),
            ("Content-Type", "text/plain"),
        ],
        body="Hello from Lambda",
        path_params={"parameter1": "value1"},
        request_id="id",
        source_ip="192.0.2.1",
        api_id="api-id",
    )
    documented = load_event("base")

    assert set(documented) - set(event) == {"stageVariables"}  # none in this API
    assert set(event) <= set(documented)
    for key in ("version", "routeKey", "rawPath", "rawQueryString", "cookies", "body"):
        assert event[key] == documented[key], key
    context, theirs = event["requestContext"], documented["requestContext"]
    assert set(context) == set(theirs)
    assert context["http"] == theirs["http"]
    for key in ("accountId", "apiId", "requestId", "routeKey", "stage"):
        assert context[key] == theirs[key], key

    assert event["rawQueryString"] == "parameter1=value1&parameter1=value2&parameter2=value"
    assert event["queryStringParameters"] == {"parameter1": "value1,value2", "parameter2": "value"}
    assert event["headers"]["header2"] == "value1,value2"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["cookie1", "cookie2"]
    assert (event["body"], event["isBase64Encoded"]) == ("Hello from Lambda", False)
    assert event["requestContext"]["http"]["userAgent"] == "agent"
    assert event["requestContext"]["routeKey"] == event["routeKey"] == "$default"


def test_json_body_is_sent_as_json_text_with_its_content_type() -> None:
    event = http_api_event("POST", "/users", json_body={"name": "Zé"})

    assert event["headers"]["content-type"] == "application/json"
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == {"name": "Zé"}


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/plain", True),
        ("application/xml", True),
        ("application/octet-stream", False),
        ("application/x-www-form-urlencoded", False),
        ("application/merge-patch+json", False),
        (None, False),
    ],
)
def test_only_text_content_types_arrive_as_text(content_type: str | None, text: bool) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    event = http_api_event("POST", "/users", headers=headers, body=b'{"name": "Z\xc3\xa9"}')

    assert is_text_content_type(content_type) is text
    assert event["isBase64Encoded"] is (not text)
    decoded = event["body"].encode() if text else base64.b64decode(event["body"])
    assert decoded == b'{"name": "Z\xc3\xa9"}'


def test_text_that_is_not_utf8_arrives_base64_encoded() -> None:
    event = http_api_event("POST", "/users", headers={"Content-Type": "text/plain"}, body=b"\xff")

    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff"


def test_empty_parts_are_left_out_and_each_event_gets_its_own_request_id() -> None:
    events = [http_api_event("GET", "/users") for _ in range(20)]

    for absent in ("cookies", "queryStringParameters", "pathParameters", "body"):
        assert absent not in events[0]
    assert events[0]["isBase64Encoded"] is False
    assert len({event["requestContext"]["requestId"] for event in events}) == 20


def test_authorizer_context_is_passed_as_given() -> None:
    authorizer = {"jwt": {"claims": {"sub": "01"}, "scopes": None}}

    event = http_api_event("GET", "/users/01", authorizer=authorizer)

    assert event["requestContext"]["authorizer"] == authorizer
    assert "authorizer" not in http_api_event("GET", "/users/01")["requestContext"]
