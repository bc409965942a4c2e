"""`make smoke` (tools/smoke.py) against the local stack, as the pipeline runs it against a real
stage: without authorization, with a JWT holding the admin scope, and SigV4 for AWS_IAM. Every
run passes every flow and leaves nothing behind; a broken route fails the run (exit 1), and the
cleanup still deletes what the run created and nothing else."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

from tests.e2e.conftest import REPO, serve_stack
from tools.localaws.emulator import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, free_port
from tools.smoke import main

if TYPE_CHECKING:
    from tests.conftest import EmulatorStack
    from tools.localaws.gateway import LocalGateway
    from tools.localaws.oidc import LocalIssuer

pytestmark = pytest.mark.slow

FLOWS = 11
SUMMARY = re.compile(
    r"^summary: (\d+) passed, (\d+) failed, (\d+) skipped of (\d+) flows; "
    r"created (\d+) users, deleted (\d+)$",
    re.MULTILINE,
)


def _summary(output: str) -> tuple[int, ...]:
    found = SUMMARY.search(output)
    assert found, output
    return tuple(int(n) for n in found.groups())


def _prefix(output: str) -> str:
    found = re.search(r"users prefixed (smoke-[0-9a-f]{12})$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def _stored(deployed: EmulatorStack, needle: str) -> list[str]:
    """Ids of the users table and addresses of the e-mail table containing `needle`."""
    dynamodb = deployed.client("dynamodb")
    users = dynamodb.scan(TableName=deployed.outputs["users_table_name"])["Items"]
    emails = dynamodb.scan(TableName=deployed.outputs["emails_table_name"])["Items"]
    return [
        *(u["user_id"]["S"] for u in users if needle in u["user_id"]["S"]),
        *(e["email"]["S"] for e in emails if needle in e["email"]["S"]),
    ]


def _run(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out, env=env or {})
    return code, out.getvalue()


# ----------------------------------------------------------------------------- NONE


@pytest.fixture(scope="module")
def front(front_stack: EmulatorStack) -> Iterator[LocalGateway]:
    with serve_stack(front_stack, max_workers=4) as local:
        yield local


def test_make_smoke_passes_every_flow_without_authorization_and_leaves_nothing(
    front: LocalGateway, front_stack: EmulatorStack
) -> None:
    result = subprocess.run(
        ["make", "-s", "smoke", f"URL={front.url}", f"PY={sys.executable}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "(auth none)" in result.stdout  # read from the API's /openapi.json
    assert len(re.findall(r"^ok    ", result.stdout, re.MULTILINE)) == FLOWS, result.stdout
    assert _summary(result.stdout) == (FLOWS, 0, 0, FLOWS, 2, 2)
    assert _stored(front_stack, _prefix(result.stdout)) == []


# ------------------------------------------------------------------------------ JWT


@pytest.fixture(scope="module")
def jwt_front(jwt_stack: EmulatorStack) -> Iterator[LocalGateway]:
    with serve_stack(jwt_stack, max_workers=4) as local:
        yield local


def test_smoke_passes_with_an_admin_token_and_removes_the_tokens_own_profile(
    jwt_front: LocalGateway, jwt_stack: EmulatorStack, oidc_issuer: LocalIssuer
) -> None:
    owner = f"smoke-owner-{uuid.uuid4().hex[:8]}"
    token = oidc_issuer.mint(owner, scopes=["users/admin"])
    code, output = _run("--url", jwt_front.url, env={"SMOKE_TOKEN": token})
    assert code == 0, output
    assert "(auth jwt)" in output
    assert f"ok    create without user_id   201 generated {owner}" in output
    assert _summary(output) == (FLOWS, 0, 0, FLOWS, 2, 2)
    assert _stored(jwt_stack, _prefix(output)) == []
    assert _stored(jwt_stack, owner) == []


def test_smoke_leaves_an_existing_profile_of_the_token_holder_alone(
    jwt_front: LocalGateway, jwt_stack: EmulatorStack, oidc_issuer: LocalIssuer
) -> None:
    owner = f"smoke-ops-{uuid.uuid4().hex[:8]}"
    token = oidc_issuer.mint(owner, scopes=["users/admin"])
    request = Request(
        f"{jwt_front.url}/users",
        data=b'{"name": "Ops"}',
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urlopen(request, timeout=30) as response:
        assert response.status == 201
    code, output = _run("--url", jwt_front.url, "--auth", "jwt", "--token", token)
    assert code == 0, output
    assert "skip  create without user_id   409 for the token's own profile" in output
    assert _summary(output) == (FLOWS - 1, 0, 1, FLOWS, 1, 1)
    assert _stored(jwt_stack, owner) == [owner]  # not deleted: the run did not create it


def test_smoke_without_a_token_refuses_to_start_against_a_jwt_api(jwt_front: LocalGateway) -> None:
    code, output = _run("--url", jwt_front.url)
    assert code == 2
    assert output == ""  # nothing ran, nothing was created


# -------------------------------------------------------------------------- AWS_IAM


def test_smoke_signs_with_the_ambient_credentials_for_aws_iam(
    iam_stack: EmulatorStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with serve_stack(iam_stack, max_workers=4) as local:
        code, output = _run("--url", local.url)
    assert code == 0, output
    assert "(auth iam)" in output
    assert _summary(output) == (FLOWS, 0, 0, FLOWS, 2, 2)
    assert _stored(iam_stack, _prefix(output)) == []


# ----------------------------------------------------------------- a broken deploy


class Saboteur:
    """A proxy in front of the local front that records every request and answers the first
    DELETE with a 500 itself, as a deploy that broke that route would."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.requests: list[tuple[str, str, int]] = []  # method, path, status
        self.created: list[str] = []
        self.broke_delete = False
        saboteur = self

        class Handler(BaseHTTPRequestHandler):
            def do(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                status, headers, answer = saboteur.forward(self, body)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(
        self, handler: BaseHTTPRequestHandler, body: bytes | None
    ) -> tuple[int, Any, bytes]:
        method, path = handler.command, handler.path
        if method == "DELETE" and not self.broke_delete:
            self.broke_delete = True
            self.requests.append((method, path, 500))
            return 500, [("Content-Type", "application/json")], b'{"message":"broken"}'
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        request = Request(self.upstream + path, data=body, method=method, headers=headers)
        try:
            with urlopen(request, timeout=30) as response:
                status, reply_headers, answer = response.status, response.headers, response.read()
        except HTTPError as error:
            status, reply_headers, answer = error.code, error.headers, error.read()
        self.requests.append((method, path, status))
        if method == "POST" and status == 201:
            self.created.append(reply_headers["Location"].rsplit("/", 1)[-1])
        return status, reply_headers.items(), answer

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_broken_route_fails_the_run_and_the_cleanup_deletes_only_what_it_created(
    front: LocalGateway, front_stack: EmulatorStack
) -> None:
    # Users that are not the run's, one of them looking like a smoke run's.
    bystanders = [f"smoke-{uuid.uuid4().hex[:12]}-a", f"keep-{uuid.uuid4().hex[:8]}"]
    for user_id in bystanders:
        request = Request(
            f"{front.url}/users",
            data=f'{{"user_id": "{user_id}", "name": "Not the run\'s"}}'.encode(),
            method="POST",
        )
        with urlopen(request, timeout=30) as response:
            assert response.status == 201
    saboteur = Saboteur(front.url)
    try:
        code, output = _run("--url", saboteur.url)
    finally:
        saboteur.close()

    assert code == 1, output
    assert re.search(r"^FAIL  delete, then 404 +expected an empty 204, got", output, re.MULTILINE)
    assert _summary(output) == (FLOWS - 1, 1, 0, FLOWS, 2, 2)
    prefix = _prefix(output)
    assert len(saboteur.created) == 2
    assert saboteur.created[0] == f"{prefix}-a"
    # The user the broken DELETE left behind was deleted by the cleanup, and nothing else was.
    deletes = [(path, status) for method, path, status in saboteur.requests if method == "DELETE"]
    assert deletes[0] == (f"/users/{prefix}-a", 500)
    assert sorted(path for path, _ in deletes[1:]) == sorted(
        f"/users/{user_id}" for user_id in saboteur.created
    )
    assert {status for _, status in deletes[1:]} == {204}
    assert _stored(front_stack, prefix) == []
    for user_id in bystanders:
        assert _stored(front_stack, user_id) == [user_id]
    # Never a listing: every GET of /users names one user.
    for method, path, _ in saboteur.requests:
        if method == "GET" and path.startswith("/users?"):
            assert re.fullmatch(r"/users\?(id|email)=[^&]+", path), path
