"""Smoke tests of tools/bench.py's measuring functions: tiny counts, structure and sanity only.

No timing targets here: those are `make bench`'s business, on a quiet machine.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from tools import bench


def test_warm_measurement_covers_each_route_with_one_call_and_a_split() -> None:
    from users_api import app, http, models, routes

    services_before = app.SERVICES

    warm = bench.measure_warm(iterations=20, warmup=2)

    assert set(warm["routes"]) == {"get", "create", "update", "list"}
    for name, route in warm["routes"].items():
        assert 0 < route["p50_us"] <= route["p99_us"], name
        assert route["aws_calls_per_request"] == 1, name
        assert set(route["stages_us"]) == {*bench.STAGES, "other"}, name
        assert all(route["stages_us"][stage] > 0 for stage in bench.STAGES), name
    # Everything patched for the measurement is put back.
    assert app.SERVICES is services_before
    assert vars(routes)["json_response"] is http.json_response
    assert "resolve" not in vars(routes.ROUTER)
    assert vars(models)["validate"].__module__ == "users_api.models"


def test_round_trips_are_counted_per_case_against_mock_aws() -> None:
    trips = bench.count_round_trips()

    by_case = {trip["case"]: trip for trip in trips}
    assert len(by_case) == len(bench.TRIP_CASES)
    assert all(trip["status"] < 300 for trip in trips), trips
    assert by_case["GET /users/{user_id}"]["operations"] == ["GetItem"]
    assert by_case["GET /hello"]["round_trips"] == 0
    assert by_case["PUT /users/{user_id} (email changes)"]["operations"] == [
        "UpdateItem",
        "TransactWriteItems",
    ]


def test_stub_endpoint_answers_dynamodb_operations_with_canned_items() -> None:
    with bench.stub_dynamodb() as endpoint:
        url = urlsplit(endpoint)
        connection = http.client.HTTPConnection(url.hostname or "", url.port or 80, timeout=5)
        connection.request(
            "POST",
            "/",
            body=b"{}",
            headers={"X-Amz-Target": "DynamoDB_20120810.GetItem"},
        )
        response = connection.getresponse()
        body: dict[str, Any] = json.loads(response.read())
        connection.close()

    assert response.status == 200
    assert body == {"Item": bench.USER_ITEM}


def test_importtime_lines_are_parsed_with_depth_and_milliseconds() -> None:
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       175 |        175 |   users_api.errors\n"
        "import time:     24646 |     134861 | users_api.models\n"
    )

    entries = bench.parse_importtime(stderr)

    assert entries == [
        {"module": "users_api.errors", "depth": 1, "self_ms": 0.175, "cumulative_ms": 0.175},
        {"module": "users_api.models", "depth": 0, "self_ms": 24.646, "cumulative_ms": 134.861},
    ]


def test_report_renders_the_same_rows_as_text_and_markdown() -> None:
    report = bench.Report("2026-11-23 09:00 UTC", "2 CPUs")
    report.add("package size zipped", "2.60 MB", "<= 3 MB", bench.passed(True))
    report.add("warm overhead: list", "160 / 300 us", "p50 <= 150 us", bench.passed(False))

    text = bench.render_text(report)
    markdown = bench.render_markdown(report)

    assert "PASS" in text
    assert "FAIL" in text
    assert "| package size zipped | 2.60 MB | <= 3 MB | PASS |" in markdown
    assert bench.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert bench.percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.99) == 5.0


@pytest.mark.skipif(not bench.MANIFEST.is_file(), reason="the package is not built (make build)")
def test_cold_start_alternates_fresh_processes_and_reports_medians() -> None:
    fn = bench.function_python()
    caches_before = set(bench.PACKAGE.rglob("__pycache__"))
    with bench.stub_dynamodb() as endpoint:
        cold = bench.measure_cold_start(fn, endpoint, pairs=1)

    assert cold["pairs"] == 1
    assert cold["floor_ms"] > 0
    assert cold["handler_ms"] > 0
    assert cold["ratio"] == pytest.approx(cold["handler_ms"] / cold["floor_ms"])
    assert set(cold["runs_cpu_ms"]) == {"floor", "handler", "handler_write", "floor_plus"}
    assert cold["write_first_ratio"] == pytest.approx(cold["write_first_ms"] / cold["floor_ms"])
    # Bytecode goes to the bench's prefix, never into the package that gets zipped.
    assert set(bench.PACKAGE.rglob("__pycache__")) == caches_before
