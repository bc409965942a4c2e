"""The routes Terraform creates are exactly the dispatcher's route table (plus `$default`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from users_api.api import ROUTER

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack

pytestmark = pytest.mark.slow


def test_route_keys_in_the_api_equal_the_dispatchers_route_table(
    emulator_stack: EmulatorStack,
) -> None:
    routes = emulator_stack.client("apigatewayv2").get_routes(
        ApiId=emulator_stack.outputs["api_id"]
    )["Items"]
    keys = {route["RouteKey"] for route in routes}

    assert "$default" in keys
    assert keys - {"$default"} == set(ROUTER.route_keys())


def test_each_route_terraform_manages_is_in_the_api_with_its_key(
    emulator_stack: EmulatorStack,
) -> None:
    # Compared by id: under load the SDK may retry a CreateRoute whose answer it missed, and
    # moto (unlike AWS, which refuses a second route with the same key) then holds a stray
    # copy; the routes Terraform owns are the ones that count.
    managed = {
        attributes["id"]: attributes["route_key"]
        for address, attributes in emulator_stack.stack.resources().items()
        if address.startswith("aws_apigatewayv2_route.")
    }
    routes = emulator_stack.client("apigatewayv2").get_routes(
        ApiId=emulator_stack.outputs["api_id"]
    )["Items"]
    in_api = {route["RouteId"]: route["RouteKey"] for route in routes}

    assert len(managed) == len(set(managed.values())) == len(ROUTER.route_keys()) + 1
    assert {route_id: in_api.get(route_id) for route_id in managed} == managed
