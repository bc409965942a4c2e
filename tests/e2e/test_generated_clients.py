"""Clients generated from the committed openapi.json run the README's flows against the local front
(`make local`'s HTTP front on the session's emulator stack), as a new user would run them.

- Python: openapi-python-client generates a package into the test's temporary directory; the
  flows below call its functions (`raise_on_unexpected_status`, so an answer the document does not
  list is an error) and read its parsed models.
- TypeScript: openapi-typescript generates the types, tests/e2e/clients/flows.ts calls the API
  through openapi-fetch with them, `tsc --strict` checks it against the types and node runs it.

The flows: hello; create with and without `user_id`; `?id=`; `/users/{user_id}`; `?email=`; a
list walked with `next_token`; PATCH with `If-Match` from the `ETag`; a stale `If-Match` read as
the error shape (412); PUT; a create replayed for its `Idempotency-Key`; DELETE; a 404 and a 400
parsed as the error shape. Nothing generated is committed. Figures go to pytest's summary.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.conftest import FIGURES, serve_stack
from tools.localaws.gateway import LocalGateway

REPO = Path(__file__).resolve().parents[2]
DOCUMENT = REPO / "openapi.json"
NODE_TOOLS = REPO / "tools" / "node"
CLIENTS = Path(__file__).resolve().parent / "clients"
PACKAGE = "users_api_client"
FLOWS = 14

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def front(front_stack: Any) -> Iterator[LocalGateway]:
    with serve_stack(front_stack, max_workers=2) as local:
        yield local


# -- Python: openapi-python-client ------------------------------------------------------------


@pytest.fixture(scope="module")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported from the temporary directory under its own name."""
    out = tmp_path_factory.mktemp("python-client") / PACKAGE
    generator = Path(sys.executable).with_name("openapi-python-client")
    # Its post-generation hook formats with ruff: the virtualenv's, on PATH.
    env = {**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(generator), "generate", "--path", str(DOCUMENT), "--output-path", str(out)]
    result = subprocess.run(
        [*command, "--meta", "none"],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "Warning" not in result.stdout, result.stdout  # every operation and schema generated
    spec = importlib.util.spec_from_file_location(
        PACKAGE, out / "__init__.py", submodule_search_locations=[str(out)]
    )
    assert spec is not None
    assert spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    try:
        yield package
    finally:
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@dataclass
class Flows:
    """The README's flows through the generated Python client, in order; later flows use what
    earlier ones created (`state`). Each flow is run even when an earlier one failed."""

    client: Any
    tag: str
    state: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def api(name: str) -> Any:
        return importlib.import_module(f"{PACKAGE}.api.{name}")

    @staticmethod
    def model(name: str) -> Any:
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name)

    def hello(self) -> None:
        answer = self.api("service.hello").sync_detailed(client=self.client)
        assert answer.status_code == 200
        assert answer.parsed.message == "Hello from Lambda"

    def create_with_user_id(self) -> None:
        user_id = f"{self.tag}-joy"
        body = self.model("UserCreate")(user_id=user_id, name="Joy")
        answer = self.api("users.create_user").sync_detailed(client=self.client, body=body)
        assert answer.status_code == 201, answer.content
        assert answer.parsed.user_id == user_id
        assert answer.parsed.version == 1
        assert answer.headers["etag"] == '"1"'
        assert answer.headers["location"] == f"/users/{user_id}"
        self.state["joy"] = user_id

    def read_with_query_id(self) -> None:
        get = self.api("users.get_or_list_users")
        answer = get.sync_detailed(client=self.client, id=self.state["joy"])
        assert answer.status_code == 200, answer.content
        assert isinstance(answer.parsed, self.model("User"))
        assert answer.parsed.name == "Joy"

    def read_with_path(self) -> None:
        get = self.api("users.get_user")
        answer = get.sync_detailed(self.state["joy"], client=self.client)
        assert answer.status_code == 200, answer.content
        assert answer.parsed.user_id == self.state["joy"]
        self.state["etag"] = answer.headers["etag"]

    def create_without_user_id(self) -> None:
        email = f"Ann.{self.tag}@Example.com"
        body = self.model("UserCreate")(name="Ann", email=email)
        answer = self.api("users.create_user").sync_detailed(client=self.client, body=body)
        assert answer.status_code == 201, answer.content
        assert len(answer.parsed.user_id) == 32  # generated
        assert answer.parsed.email == email.lower()
        self.state["ann"] = answer.parsed.user_id
        self.state["ann_email"] = email.lower()

    def look_up_by_email(self) -> None:
        get = self.api("users.get_or_list_users")
        answer = get.sync_detailed(client=self.client, email=self.state["ann_email"].upper())
        assert answer.status_code == 200, answer.content
        assert answer.parsed.user_id == self.state["ann"]

    def list_with_next_token(self) -> None:
        for name in ("Bo", "Cy", "Di"):
            body = self.model("UserCreate")(name=name)
            created = self.api("users.create_user").sync_detailed(client=self.client, body=body)
            assert created.status_code == 201, created.content
        get = self.api("users.get_or_list_users")
        seen: list[str] = []
        pages = 0
        token: str | None = None
        while True:
            query: dict[str, Any] = {"limit": 2, "created_after": self.state["started"]}
            if token is not None:
                query["next_token"] = token
            answer = get.sync_detailed(client=self.client, **query)
            assert answer.status_code == 200, answer.content
            page = answer.parsed
            assert isinstance(page, self.model("UserPage"))
            assert page.count == len(page.items) <= 2
            seen += [user.user_id for user in page.items]
            pages += 1
            token = page.next_token
            if token is None:
                break
        assert pages >= 3  # at least five users since the test started, two a page
        assert {self.state["joy"], self.state["ann"]} <= set(seen)
        assert len(seen) == len(set(seen))

    def patch_with_if_match(self) -> None:
        patch = self.api("users.patch_user")
        body = self.model("UserPatch")(email=f"joy.{self.tag}@example.com")
        answer = patch.sync_detailed(
            self.state["joy"], client=self.client, body=body, if_match=self.state["etag"]
        )
        assert answer.status_code == 200, answer.content
        assert answer.parsed.version == 2
        assert answer.parsed.email == f"joy.{self.tag}@example.com"
        assert answer.headers["etag"] == '"2"'

    def stale_if_match_is_an_error(self) -> None:
        patch = self.api("users.patch_user")
        body = self.model("UserPatch")(name="Joy B")
        answer = patch.sync_detailed(
            self.state["joy"], client=self.client, body=body, if_match=self.state["etag"]
        )
        assert answer.status_code == 412, answer.content
        assert isinstance(answer.parsed, self.model("Error"))
        assert answer.parsed.code == "precondition_failed"
        assert answer.parsed.current_version == 2

    def replace(self) -> None:
        put = self.api("users.replace_user")
        body = self.model("UserReplace")(name="Joy B")
        answer = put.sync_detailed(self.state["joy"], client=self.client, body=body)
        assert answer.status_code == 200, answer.content
        assert answer.parsed.name == "Joy B"
        assert not answer.parsed.email  # an absent email removes it
        assert answer.parsed.version == 3

    def create_replayed_for_its_idempotency_key(self) -> None:
        create = self.api("users.create_user")
        key = f"{self.tag}-eve"
        body = self.model("UserCreate")(name="Eve")
        first = create.sync_detailed(client=self.client, body=body, idempotency_key=key)
        again = create.sync_detailed(client=self.client, body=body, idempotency_key=key)
        assert first.status_code == again.status_code == 201, again.content
        assert again.parsed.user_id == first.parsed.user_id
        assert again.headers["idempotent-replayed"] == "true"

    def delete(self) -> None:
        delete = self.api("users.delete_user")
        answer = delete.sync_detailed(self.state["joy"], client=self.client, if_match='"3"')
        assert answer.status_code == 204, answer.content

    def not_found_is_the_error_shape(self) -> None:
        get = self.api("users.get_user")
        answer = get.sync_detailed(self.state["joy"], client=self.client)
        assert answer.status_code == 404
        assert isinstance(answer.parsed, self.model("Error"))
        assert answer.parsed.code == "user_not_found"
        assert self.state["joy"] in answer.parsed.error

    def bad_request_is_the_error_shape(self) -> None:
        create = self.api("users.create_user")
        body = self.model("UserCreate")(name="")  # the client does not check minLength
        answer = create.sync_detailed(client=self.client, body=body)
        assert answer.status_code == 400
        assert isinstance(answer.parsed, self.model("Error"))
        assert answer.parsed.code == "validation_error"
        assert [f.field for f in answer.parsed.fields] == ["name"]

    def all(self) -> list[Callable[[], None]]:
        return [
            self.hello,
            self.create_with_user_id,
            self.read_with_query_id,
            self.read_with_path,
            self.create_without_user_id,
            self.look_up_by_email,
            self.list_with_next_token,
            self.patch_with_if_match,
            self.stale_if_match_is_an_error,
            self.replace,
            self.create_replayed_for_its_idempotency_key,
            self.delete,
            self.not_found_is_the_error_shape,
            self.bad_request_is_the_error_shape,
        ]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_python_client_generated_by_openapi_python_client_runs_the_readme_flows(
    python_client: ModuleType, front: LocalGateway
) -> None:
    client = python_client.Client(base_url=front.url, raise_on_unexpected_status=True)
    flows = Flows(client, tag=f"py{uuid.uuid4().hex[:8]}", state={"started": _now()})
    failed: dict[str, str] = {}
    for flow in flows.all():
        try:
            flow()
        except Exception as error:  # every flow runs; each failure is reported
            failed[flow.__name__] = f"{type(error).__name__}: {error}"
    passed = len(flows.all()) - len(failed)
    FIGURES.append(f"generated clients: Python (openapi-python-client) {passed}/{FLOWS} flows")
    assert failed == {}
    assert passed == FLOWS


# -- TypeScript: openapi-typescript + openapi-fetch, type-checked by tsc ------------------------


def _node_tool(name: str) -> str:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: install Node.js 20+ (make test needs it)")
    path = NODE_TOOLS / "node_modules" / ".bin" / name
    if not path.is_file():
        pytest.fail(f"{name} is not installed: run make test (npm ci in tools/node)")
    return str(path)


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.fixture(scope="module")
def typescript_flows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """flows.ts compiled against the types openapi-typescript generates from openapi.json."""
    work = tmp_path_factory.mktemp("typescript-client")
    shutil.copy(CLIENTS / "flows.ts", work / "flows.ts")
    shutil.copy(CLIENTS / "tsconfig.json", work / "tsconfig.json")
    (work / "package.json").write_text(json.dumps({"type": "module", "private": True}))
    (work / "node_modules").symlink_to(NODE_TOOLS / "node_modules", target_is_directory=True)
    generated = _run([_node_tool("openapi-typescript"), str(DOCUMENT), "-o", "schema.d.ts"], work)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    compiled = _run([_node_tool("tsc"), "-p", "tsconfig.json"], work)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr  # type errors are failures
    return work / "out" / "flows.js"


def test_typescript_client_from_openapi_typescript_and_openapi_fetch_runs_the_readme_flows(
    typescript_flows: Path, front: LocalGateway
) -> None:
    node = shutil.which("node")
    assert node is not None
    tag = f"ts{uuid.uuid4().hex[:8]}"
    result = _run([node, str(typescript_flows), front.url, tag, _now()], typescript_flows.parent)
    outcomes = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    failed = {o["flow"]: o["error"] for o in outcomes if not o["ok"]}
    passed = sum(1 for o in outcomes if o["ok"])
    FIGURES.append(f"generated clients: TypeScript (openapi-fetch) {passed}/{FLOWS} flows")
    assert failed == {}, result.stderr[-2000:]
    assert passed == FLOWS, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.returncode == 0, result.stderr[-2000:]
