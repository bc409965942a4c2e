"""The routes Terraform creates are exactly the dispatcher's route table (plus `$default`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from users_api.routes import ROUTER

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack

pytestmark = pytest.mark.slow


def test_route_keys_in_the_api_equal_the_dispatchers_route_table(
    emulator_stack: EmulatorStack,
) -> None:
    routes = emulator_stack.client("apigatewayv2").get_routes(
        ApiId=emulator_stack.outputs["api_id"]
    )["Items"]
    keys = [route["RouteKey"] for route in routes]

    assert len(keys) == len(set(keys))
    assert "$default" in keys
    assert set(keys) - {"$default"} == set(ROUTER.route_keys())
