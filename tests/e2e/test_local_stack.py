"""End to end, as `make local` serves it: HTTP -> the local API Gateway -> the deployed package's
handler (under the function's Python) -> DynamoDB in the emulator, on the session's applied stack.

The gateway is configured only from what Terraform deployed (routes, CORS, integration, the
function's handler, environment, timeout and package), like tools/localaws/local.py does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.contract import contract_for
from tests.e2e.conftest import serve_stack
from tools.localaws.emulator import free_port
from tools.localaws.gateway import LocalGateway, start_gateway
from tools.localaws.runtime import InitError, Interpreter

REPO = Path(__file__).resolve().parents[2]
ALLOWED_ORIGIN = "https://app.example.com"  # in the session stack's cors_allowed_origins


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """HTTP to the local front. With `contract` (the stack's authorization mode), every answer
    from the API is checked against the OpenAPI document it serves (tests/contract.py)."""

    def __init__(self, url: str, contract: str | None = None) -> None:
        self.url = url
        self.contract = contract

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        all_headers = dict(headers or {})
        if body is not None:
            all_headers.setdefault("Content-Type", "application/json")
        request = Request(self.url + path, data=data, method=method, headers=all_headers)
        try:
            with urlopen(request, timeout=30) as response:
                reply = Reply(response.status, _lower(response.headers.items()), response.read())
        except HTTPError as error:
            reply = Reply(error.code, _lower(error.headers.items()), error.read())
        if self.contract is not None and method.upper() != "OPTIONS":  # preflights: CORS's
            violations = contract_for(self.contract).violations(
                method, path.split("?", 1)[0], reply.status, reply.headers, reply.body
            )
            assert not violations, "answer violates the OpenAPI document:\n" + "\n".join(violations)
        return reply


def _lower(items: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in items}


@pytest.fixture(scope="module")
def gateway(emulator_stack: Any) -> Iterator[LocalGateway]:
    started = time.monotonic()
    with serve_stack(emulator_stack, max_workers=4) as local:
        print(f"\nlocal gateway ready in {time.monotonic() - started:.1f}s on {local.url}")
        yield local


@pytest.fixture
def client(gateway: LocalGateway) -> Client:
    return Client(gateway.url, contract="NONE")


def _new_id() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


pytestmark = pytest.mark.slow


def test_seed_flow_create_then_get_by_query_and_by_path(client: Client) -> None:
    user_id = _new_id()
    created = client.request("POST", "/users", {"user_id": user_id, "name": "Joy"})
    assert created.status == 201, created.body
    assert created.headers["location"] == f"/users/{user_id}"
    user = created.json()
    assert (user["user_id"], user["name"], user["version"]) == (user_id, "Joy", 1)
    assert created.headers["apigw-requestid"]

    by_query = client.request("GET", f"/users?id={user_id}")
    assert by_query.status == 200
    assert by_query.json() == user
    assert by_query.headers["etag"]
    by_path = client.request("GET", f"/users/{user_id}")
    assert by_path.status == 200
    assert by_path.json() == user


def test_form_encoded_body_arrives_base64_and_is_decoded(client: Client) -> None:
    # curl -d without a Content-Type sends application/x-www-form-urlencoded: API Gateway
    # base64-encodes such bodies, so the handler must decode them.
    user_id = _new_id()
    reply = client.request(
        "POST",
        "/users",
        raw=json.dumps({"user_id": user_id, "name": "Form"}).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 201, reply.body
    assert client.request("GET", f"/users/{user_id}").json()["name"] == "Form"


def test_list_pages_hold_every_user_exactly_once(client: Client) -> None:
    mine = {_new_id() for _ in range(5)}
    for user_id in mine:
        assert client.request("POST", "/users", {"user_id": user_id, "name": "Pager"}).status == 201
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        query = "/users?limit=2" + (f"&next_token={token}" if token else "")
        page = client.request("GET", query)
        assert page.status == 200, page.body
        body = page.json()
        assert body["count"] == len(body["items"])
        seen += [item["user_id"] for item in body["items"]]
        token = body["next_token"]
        pages += 1
        if token is None:
            break
        assert body["count"] == 2  # no short page before the last
        assert pages < 100
    assert len(seen) == len(set(seen))
    assert mine <= set(seen)


def test_update_patch_and_delete(client: Client) -> None:
    user_id = _new_id()
    etag = client.request("POST", "/users", {"user_id": user_id, "name": "Joy"}).headers["etag"]

    put = client.request(
        "PUT", f"/users/{user_id}", {"name": "Joy Two"}, headers={"If-Match": etag}
    )
    assert put.status == 200, put.body
    assert (put.json()["name"], put.json()["version"]) == ("Joy Two", 2)

    stale = client.request(
        "PUT", f"/users/{user_id}", {"name": "Lost update"}, headers={"If-Match": etag}
    )
    assert stale.status == 412
    assert stale.json()["code"] == "precondition_failed"

    patch = client.request(
        "PATCH",
        f"/users/{user_id}",
        raw=json.dumps({"email": "Joy@Example.com"}).encode(),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patch.status == 200, patch.body
    assert patch.json()["email"] == "joy@example.com"
    assert patch.json()["version"] == 3
    by_email = client.request("GET", "/users?email=joy%40example.com")
    assert by_email.status == 200
    assert by_email.json()["user_id"] == user_id

    deleted = client.request("DELETE", f"/users/{user_id}")
    assert (deleted.status, deleted.body) == (204, b"")
    assert client.request("GET", f"/users/{user_id}").status == 404
    assert client.request("DELETE", f"/users/{user_id}").status == 404


def test_errors_are_json_with_their_status(client: Client) -> None:
    invalid = client.request("POST", "/users", {"user_id": _new_id()})
    assert invalid.status == 400
    assert invalid.json()["code"] == "validation_error"
    malformed = client.request(
        "POST", "/users", raw=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert malformed.status == 400

    user_id = _new_id()
    assert client.request("POST", "/users", {"user_id": user_id, "name": "A"}).status == 201
    taken = client.request("POST", "/users", {"user_id": user_id, "name": "B"})
    assert taken.status == 409
    assert set(taken.json()) >= {"error", "code"}

    missing = client.request("GET", f"/users/{_new_id()}")
    assert missing.status == 404
    assert set(missing.json()) >= {"error", "code"}

    wrong_method = client.request("DELETE", "/users")
    assert wrong_method.status == 405
    assert set(wrong_method.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}

    # No route of the API matches: the $default route sends it to the function's JSON 404.
    unknown = client.request("GET", "/nothing/here")
    assert unknown.status == 404
    assert "error" in unknown.json()


def test_cors_preflight_and_headers_come_from_the_apis_configuration(client: Client) -> None:
    preflight = client.request(
        "OPTIONS",
        "/users",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"]

    hello = client.request("GET", "/hello", headers={"Origin": ALLOWED_ORIGIN})
    assert hello.status == 200
    assert hello.json()["message"] == "Hello from Lambda"
    assert hello.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    other = client.request("GET", "/hello", headers={"Origin": "https://evil.example.com"})
    assert "access-control-allow-origin" not in other.headers


def test_concurrent_requests_are_served(client: Client, gateway: LocalGateway) -> None:
    user_id = _new_id()
    assert client.request("POST", "/users", {"user_id": user_id, "name": "Many"}).status == 201
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda _: client.request("GET", f"/users/{user_id}").status, range(32))
        )
    assert statuses == [200] * 32
    assert 1 <= sum(p.size for p in gateway.gateway.pools.values()) <= 4


def test_requests_carry_the_deployed_functions_identity(
    client: Client, gateway: LocalGateway
) -> None:
    (pool,) = gateway.gateway.pools.values()
    spec = pool.spec
    assert spec.handler == "users_api.app.handler"
    assert spec.environment["USERS_TABLE"].endswith("-users")
    assert spec.timeout_s == 10  # the session stack's lambda_timeout_seconds
    assert spec.memory_mb == 256
    # The package the workers import is the zip Terraform deployed, unpacked.
    assert (spec.code_dir / "users_api" / "app.py").is_file()
    assert (spec.code_dir / "pydantic_core").is_dir()
    assert client.request("GET", "/hello").json()["path"] == "/hello"


@pytest.mark.skipif(
    not Path("/root/.pyenv/versions/3.12.1/bin/python").exists(), reason="needs Python 3.12"
)
def test_package_built_for_another_python_fails_at_import_with_the_module_named(
    emulator_stack: Any, gateway: LocalGateway
) -> None:
    # pydantic/pydantic#6557 locally: the deployed 3.13 package's compiled pydantic_core cannot
    # load under 3.12, and the gateway says so before serving instead of answering 500s.
    (pool,) = gateway.gateway.pools.values()
    with pytest.raises(InitError, match=r"failed to import: .*pydantic_core"):
        start_gateway(
            endpoint_url=emulator_stack.endpoint,
            package_zip=emulator_stack.stack.zip_path,
            api_id=emulator_stack.outputs["api_id"],
            cache_dir=REPO / ".local" / "runtime",
            port=free_port(),
            interpreter=Interpreter("/root/.pyenv/versions/3.12.1/bin/python", "3.12"),
            sdk_paths=pool.sdk_paths,
        )


# ------------------------------------------------------------- tools/localaws/local.py, whole
# lifecycle


# `make local` itself, as a first-time user runs it; it pays for its own emulator, apply and
# destroy. (`--vars`: tests/unit/test_local_vars.py for what it applies and overrides, and
# tests/infra/test_prod.py applies prod.tfvars through the same staging and lifts its deletion
# protection before the destroy as `make local` does on Ctrl-C.)
@pytest.mark.parametrize("variables", [None], ids=["default"])
def test_make_local_serves_then_sigterm_destroys_and_leaves_no_process(
    variables: str | None,
) -> None:
    api_port, emulator_port = free_port(), free_port()
    command = [sys.executable, "-m", "tools.localaws.local", "--api-port", str(api_port)]
    command += ["--emulator-port", str(emulator_port)]
    if variables:
        command += ["--vars", variables]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()[1]
            try:
                with urlopen(url + "/hello", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(1)
        client = Client(url)
        headers: dict[str, str] = {}
        if variables:
            # prod.tfvars: authorization = "JWT", served against the local issuer.
            assert client.request("GET", "/users/01").status == 401
            token = subprocess.run(
                [sys.executable, "-m", "tools.localaws.bearer_token", "--sub", "01"],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            headers = {"Authorization": f"Bearer {token}"}
            assert client.request("GET", "/users/02", headers=headers).status == 403
        created = client.request(
            "POST", "/users", {"user_id": "01", "name": "Joy"}, headers=headers
        )
        assert created.status == 201, created.body
        assert client.request("GET", "/users?id=01", headers=headers).json()["name"] == "Joy"
        children = _descendants(process.pid)
        assert children, "the emulator and a worker should be running"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err
    assert url in out
    assert "curl" in out
    assert "destroy done" in err, err
    if variables:
        assert "the local issuer stands in" in err
        assert "deletion protection off" in err  # prod's tables are protected: lifted first
    assert [pid for pid in children if _alive(pid)] == []


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for child in Path("/proc").glob("[0-9]*"):
        try:
            stat = (child / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            found += [int(child.name), *_descendants(int(child.name))]
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
