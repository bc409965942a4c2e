"""Smoke tests of the bench (tools/bench) and the round-trip counter (tools/roundtrips): tiny
counts, structure and sanity only. No timing targets, no cold-start processes here: those are
`make bench`'s business (and tests/timing's)."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto import mock_aws

from tools.bench import cases, cold, report, trips, warm
from tools.roundtrips import counting_calls


def test_warm_measurement_covers_each_route_with_its_calls_and_restores_the_function() -> None:
    from users_api import app
    from users_api.users.listing import LIST_SHARDS

    services_before = app.SERVICES

    figures = warm.measure_warm(iterations=20, warmup=2)

    assert set(figures["routes"]) == set(cases.WARM_EVENTS)
    calls = {name: route["aws_calls_per_request"] for name, route in figures["routes"].items()}
    assert calls == {"get": 1, "create": 1, "update": 1, "list": LIST_SHARDS + 1}
    for name, route in figures["routes"].items():
        assert 0 < route["p50_us"] <= route["p99_us"], name
    assert app.SERVICES is services_before


def test_round_trips_are_counted_per_case_against_mock_aws() -> None:
    from users_api import app

    services_before = app.SERVICES

    counted = trips.count_round_trips()

    by_case = {trip["case"]: trip for trip in counted}
    assert len(by_case) == len(trips.TRIP_CASES)
    assert all(200 <= trip["status"] < 300 for trip in counted), counted
    assert by_case["GET /users/{user_id}"]["operations"] == ["GetItem"]
    assert by_case["GET /hello"]["round_trips"] == 0
    assert by_case["PUT /users/{user_id} (email changes)"]["operations"] == [
        "UpdateItem",
        "TransactWriteItems",
    ]
    assert app.SERVICES is services_before


def test_counting_calls_records_operations_in_order_and_stops_on_exit() -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        with counting_calls(client) as calls:
            client.list_tables()
            client.list_tables(Limit=1)
            with pytest.raises(client.exceptions.ResourceNotFoundException):
                client.describe_table(TableName="missing")
        client.list_tables()

    assert calls == ["ListTables", "ListTables", "DescribeTable"]


def test_counting_calls_refuses_a_client_of_another_service() -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    with pytest.raises(ValueError, match="not sqs"), counting_calls(sqs):
        pass


def test_stub_endpoint_answers_dynamodb_operations_with_canned_items() -> None:
    with cold.stub_dynamodb() as endpoint:
        url = urlsplit(endpoint)
        connection = http.client.HTTPConnection(url.hostname or "", url.port or 80, timeout=5)
        connection.request(
            "POST", "/", body=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.GetItem"}
        )
        response = connection.getresponse()
        body: dict[str, Any] = json.loads(response.read())
        connection.close()

    assert response.status == 200
    assert body == {"Item": cases.USER_ITEM}


def test_cold_start_events_are_a_read_and_a_write_of_the_api() -> None:
    assert cases.COLD_READ["routeKey"] == "GET /users"
    assert cases.COLD_READ["queryStringParameters"] == {"id": cases.USER_ID}
    assert cases.COLD_WRITE["routeKey"] == "POST /users"
    assert json.loads(cases.COLD_WRITE["body"])["user_id"] == "c1"
    assert set(cold.KINDS) == {"floor", "read", "write", "read_source", "write_source"}
    assert {package for _, package in cold.KINDS.values()} == {"bytecode", "source"}
    assert cold.KINDS["floor"][1] == "source"  # the floor's pydantic is uncompiled


def test_report_renders_the_same_rows_as_text_and_markdown() -> None:
    table = report.Report("2026-11-23 09:00 UTC", "2 CPUs")
    table.add("package size zipped", "2.60 MB", "<= 3 MB", report.passed(True))
    table.add("  sub-row", "1 / 2")
    table.add("warm overhead: list", "160 / 300 us", "p50 <= 150 us", report.passed(False))

    text = report.render_text(table)
    markdown = report.render_markdown(table)

    assert "PASS" in text
    assert "FAIL" in text
    assert "| package size zipped | 2.60 MB | <= 3 MB | PASS |" in markdown
    assert "| ↳ sub-row | 1 / 2 |  | info |" in markdown
    assert report.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert report.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.99) == 5.0
