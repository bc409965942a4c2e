"""Smoke test a deployed users API: the README's flows against any URL, cleaning up after itself.

    python -m tools.smoke --url http://127.0.0.1:3000                   # make smoke URL=...
    SMOKE_TOKEN=<bearer token with the admin scope> python -m tools.smoke --url "$API_URL"
    python -m tools.smoke --url "$API_URL" --auth iam                   # SigV4, ambient credentials

What it is for: proving that a deployed stack (`make local`, a pipeline's environment, a preview
stack) answers the way the README says: /hello, /openapi.json, create with and without a user_id,
get by ?id= and ?email=, PATCH with the ETag as If-Match, a stale If-Match (412), PUT, a 400's
error shape, DELETE and the 404 after it. One line per flow, then a summary; exit code 0 when all
passed, 1 when one failed, 2 when it could not start. It creates only users carrying a prefix
unique to the run (`smoke-<12 hex>`; with JWT, a create without user_id makes the token holder's
own profile, only if it did not exist), deletes them all, also after a failure or Ctrl-C, and
never lists users nor touches one it did not create.

Authorization (`--auth`, default `auto`: the security scheme the API's /openapi.json declares):

- `jwt`: a bearer token with the admin scope, from SMOKE_TOKEN (or --token), or fetched with the
  OAuth client-credentials grant from SMOKE_TOKEN_URL with SMOKE_CLIENT_ID / SMOKE_CLIENT_SECRET
  (scope SMOKE_SCOPE, default users/admin; SMOKE_AUDIENCE for issuers that need one);
- `iam`: requests signed with SigV4 (botocore) with the ambient AWS credentials; the region is
  --region, else the one in an execute-api host name, else the SDK's configured region;
- `none`: unauthenticated.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.error import HTTPError, URLError
from urllib.parse import quote, quote_plus, urlencode, urlsplit
from urllib.request import Request, urlopen

AUTH_MODES = ("auto", "none", "jwt", "iam")
# The security scheme names of the API's OpenAPI document -> the mode (lambda/users_api/openapi.py).
SCHEMES = {"bearerAuth": "jwt", "sigv4": "iam"}
TIMEOUT_SECONDS = 30.0


class SmokeError(Exception):
    """The run cannot start; the message says why and what to do."""


class FlowFailed(AssertionError):
    """A flow's answer was not the documented one."""


class FlowSkipped(Exception):
    """A flow cannot run here (a flow it depends on failed, or the token's profile exists)."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise FlowFailed(f"{self.status}: the body is not JSON: {self.body[:200]!r}") from None


Signer = Callable[[str, str, bytes | None, dict[str, str]], dict[str, str]]


def bearer(token: str) -> Signer:
    def sign(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        return {**headers, "Authorization": f"Bearer {token}"}

    return sign


def sigv4(region: str | None, url: str) -> Signer:
    """Sign with botocore's SigV4Auth and the ambient credentials (service execute-api)."""
    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = botocore.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise SmokeError("--auth iam needs AWS credentials (environment, profile or role)")
    host = urlsplit(url).hostname or ""
    found = re.fullmatch(r"[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com", host)
    # botocore's "region" setting reads AWS_DEFAULT_REGION; AWS_REGION is the SDKs' newer name.
    region = (
        region
        or (found.group(1) if found else None)
        or os.environ.get("AWS_REGION")
        or session.get_config_variable("region")
    )
    if not region:
        raise SmokeError("--auth iam needs a region: --region, AWS_REGION or the SDK's config")
    frozen = credentials.get_frozen_credentials()

    def sign(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(frozen, "execute-api", region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}

    return sign


def client_credentials_token(
    token_url: str, client_id: str, secret: str, scope: str, audience: str | None = None
) -> str:
    """An access token from an OAuth 2.0 token endpoint (client-credentials grant, RFC 6749 4.4;
    the client's id and secret form-encoded into HTTP Basic, section 2.3.1)."""
    form = {"grant_type": "client_credentials", "scope": scope}
    if audience:
        form["audience"] = audience
    basic = base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()
    request = Request(
        token_url,
        data=urlencode(form).encode(),
        method="POST",
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            token = json.loads(response.read()).get("access_token")
    except (HTTPError, URLError, ValueError) as error:
        raise SmokeError(f"no token from {token_url}: {error}") from None
    if not isinstance(token, str) or not token:
        raise SmokeError(f"{token_url} answered without an access_token")
    return token


def token_subject(token: str) -> str | None:
    """The `sub` of a JWT (read, not verified: the API verifies it)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else None


@dataclass
class Api:
    url: str
    sign: Signer | None = None

    def call(
        self, method: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        sent = dict(headers or {})
        if data is not None:
            sent["Content-Type"] = "application/json"
        if self.sign is not None:
            sent = self.sign(method, self.url + path, data, sent)
        request = Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return Reply(response.status, _lower(response.headers.items()), response.read())
        except HTTPError as error:
            return Reply(error.code, _lower(error.headers.items()), error.read())


def _lower(items: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def expect(reply: Reply, status: int) -> Any:
    """The JSON body of a reply with `status` (None for an empty body)."""
    if reply.status != status:
        raise FlowFailed(f"expected {status}, got {reply.status}: {reply.body[:300]!r}")
    return reply.json() if reply.body else None


def check(condition: bool, message: str) -> None:
    if not condition:
        raise FlowFailed(message)


@dataclass
class Result:
    flow: str
    outcome: str  # "ok", "FAIL", "skip"
    detail: str
    seconds: float


@dataclass
class Smoke:
    """One run: the flows in order, the users it created, and its cleanup."""

    api: Api
    mode: str  # none, jwt, iam
    token_sub: str | None = None
    prefix: str = field(default_factory=lambda: f"smoke-{uuid.uuid4().hex[:12]}")
    created: list[str] = field(default_factory=list)  # in creation order
    deleted: set[str] = field(default_factory=set)
    results: list[Result] = field(default_factory=list)
    out: TextIO = sys.stdout

    def flows(self) -> Iterator[tuple[str, Callable[[], str]]]:
        yield "hello", self.hello
        yield "openapi.json", self.openapi
        yield "create with user_id", self.create_with_id
        yield "create without user_id", self.create_without_id
        yield "get by ?id=", self.get_by_id
        yield "get by ?email=", self.get_by_email
        yield "patch with If-Match", self.patch
        yield "stale If-Match is 412", self.stale_patch
        yield "put", self.put
        yield "400 error shape", self.bad_request
        yield "delete, then 404", self.delete

    def run(self) -> bool:
        self.say(f"smoke: {self.api.url} (auth {self.mode}), users prefixed {self.prefix}")
        try:
            for name, flow in self.flows():
                self.attempt(name, flow)
        finally:
            self.cleanup()
        failed = [r for r in self.results if r.outcome == "FAIL"]
        counts = {o: sum(r.outcome == o for r in self.results) for o in ("ok", "FAIL", "skip")}
        self.say(
            f"summary: {counts['ok']} passed, {counts['FAIL']} failed, {counts['skip']} skipped"
            f" of {len(self.results)} flows; created {len(self.created)} users, deleted"
            f" {len(self.deleted & set(self.created))}"
        )
        return not failed

    def attempt(self, name: str, flow: Callable[[], str]) -> None:
        started = time.monotonic()
        try:
            outcome, detail = "ok", flow()
        except FlowSkipped as reason:
            outcome, detail = "skip", str(reason)
        except FlowFailed as error:
            outcome, detail = "FAIL", str(error)
        except (URLError, OSError) as error:
            outcome, detail = "FAIL", f"no answer: {error}"
        result = Result(name, outcome, detail, time.monotonic() - started)
        self.results.append(result)
        self.say(f"{outcome:<4}  {name:<24} {detail} ({result.seconds:.2f} s)")

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)

    def passed(self, name: str) -> bool:
        return any(r.flow == name and r.outcome == "ok" for r in self.results)

    def needs(self, name: str) -> None:
        if not self.passed(name):
            raise FlowSkipped(f"needs {name!r}")

    @property
    def user_id(self) -> str:
        return f"{self.prefix}-a"

    def email(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}@example.com"

    # --- the flows: each returns what it saw, raises FlowFailed/FlowSkipped otherwise ----------

    def hello(self) -> str:
        body = expect(self.api.call("GET", "/hello"), 200)
        check(body.get("message") == "Hello from Lambda", f"unexpected body {body}")
        return "200 Hello from Lambda"

    def openapi(self) -> str:
        document = expect(self.api.call("GET", "/openapi.json"), 200)
        check(str(document.get("openapi", "")).startswith("3."), "no openapi version")
        check("/users" in document.get("paths", {}), "the document has no /users path")
        return f"200 OpenAPI {document['openapi']}, {len(document['paths'])} paths"

    def create(self, body: dict[str, Any]) -> Reply:
        reply = self.api.call("POST", "/users", body)
        if reply.status == 201:
            self.created.append(reply.json()["user_id"])
        return reply

    def create_with_id(self) -> str:
        body = {"user_id": self.user_id, "name": f"{self.prefix} A", "email": self.email("a")}
        reply = self.create(body)
        user = expect(reply, 201)
        check(user["user_id"] == self.user_id, f"user_id {user['user_id']!r}")
        check(user["version"] == 1 and reply.headers.get("etag") == '"1"', "not version 1")
        check(reply.headers.get("location") == f"/users/{self.user_id}", "wrong Location")
        return f'201 {self.user_id}, ETag "1"'

    def create_without_id(self) -> str:
        reply = self.create({"name": f"{self.prefix} B", "email": self.email("b")})
        if self.mode == "jwt" and reply.status in (403, 409):
            # The token holder's own profile: it exists already (never touched) or its sub is
            # not a valid user_id.
            raise FlowSkipped(f"{reply.status} for the token's own profile {self.token_sub!r}")
        user = expect(reply, 201)
        if self.mode == "jwt":
            check(user["user_id"] == self.token_sub, "user_id is not the token's sub")
        check(
            reply.headers.get("location") == f"/users/{user['user_id']}", "Location is not its id"
        )
        return f"201 generated {user['user_id']}"

    def get_by_id(self) -> str:
        self.needs("create with user_id")
        user = expect(self.api.call("GET", f"/users?id={self.user_id}"), 200)
        check(user["user_id"] == self.user_id, "another user")
        direct = self.api.call("GET", f"/users/{self.user_id}")
        check(expect(direct, 200) == user, "/users/{id} and ?id= differ")
        return f"200 {self.user_id} (and /users/{{id}})"

    def get_by_email(self) -> str:
        self.needs("create with user_id")
        query = urlencode({"email": self.email("a").upper()})  # stored lower-case
        user = expect(self.api.call("GET", f"/users?{query}"), 200)
        check(user["user_id"] == self.user_id, "another user")
        return f"200 {self.user_id} by its e-mail"

    def patch(self) -> str:
        self.needs("create with user_id")
        etag = self.api.call("GET", f"/users/{self.user_id}").headers.get("etag", "")
        reply = self.api.call(
            "PATCH", f"/users/{self.user_id}", {"name": f"{self.prefix} A2"}, {"If-Match": etag}
        )
        user = expect(reply, 200)
        check(user["name"] == f"{self.prefix} A2" and user["version"] == 2, f"got {user}")
        check(reply.headers.get("etag") == '"2"', "ETag is not version 2")
        return f'200 If-Match {etag} -> ETag "2"'

    def stale_patch(self) -> str:
        self.needs("patch with If-Match")
        reply = self.api.call(
            "PATCH", f"/users/{self.user_id}", {"name": "stale"}, {"If-Match": '"1"'}
        )
        error = expect(reply, 412)
        check(isinstance(error.get("code"), str), f"no error code in {error}")
        user = expect(self.api.call("GET", f"/users/{self.user_id}"), 200)
        check(user["name"] == f"{self.prefix} A2" and user["version"] == 2, "a 412 wrote")
        return f"412 {error['code']}, nothing written"

    def put(self) -> str:
        self.needs("create with user_id")
        reply = self.api.call("PUT", f"/users/{self.user_id}", {"name": f"{self.prefix} A3"})
        user = expect(reply, 200)
        check(user["name"] == f"{self.prefix} A3", f"got {user}")
        check(user.get("email") is None, "email absent from a PUT must remove it")
        return f"200 version {user['version']}, e-mail removed"

    def bad_request(self) -> str:
        bad_id = f"{self.prefix}-bad"
        reply = self.create({"user_id": bad_id, "name": 7})
        error = expect(reply, 400)
        check(isinstance(error.get("error"), str) and isinstance(error.get("code"), str), "shape")
        fields = [f.get("field") for f in error.get("fields", [])]
        check("name" in fields, f"fields {fields} do not name 'name'")
        check(self.api.call("GET", f"/users/{bad_id}").status == 404, "a 400 wrote a user")
        return f"400 {error['code']} naming {fields}, nothing written"

    def delete(self) -> str:
        self.needs("create with user_id")
        reply = self.api.call("DELETE", f"/users/{self.user_id}")
        check(reply.status == 204 and not reply.body, f"expected an empty 204, got {reply}")
        self.deleted.add(self.user_id)
        error = expect(self.api.call("GET", f"/users/{self.user_id}"), 404)
        return f"204, then 404 {error.get('code')}"

    def cleanup(self) -> None:
        """Delete every user this run created and has not deleted yet (404: already gone)."""
        for user_id in self.created:
            if user_id in self.deleted:
                continue
            try:
                status = self.api.call("DELETE", f"/users/{quote(user_id)}").status
            except (URLError, OSError) as error:
                self.say(f"cleanup: {user_id} NOT deleted ({error}): delete it by hand")
                continue
            if status in (204, 404):
                self.deleted.add(user_id)
            else:
                self.say(f"cleanup: {user_id} NOT deleted ({status}): delete it by hand")


def detect_mode(api: Api) -> str:
    """The authorization mode, from the security schemes the API's /openapi.json declares."""
    try:
        reply = api.call("GET", "/openapi.json")
    except (URLError, OSError) as error:
        raise SmokeError(f"{api.url} does not answer: {error}") from None
    if reply.status != 200:
        raise SmokeError(f"{api.url}/openapi.json answered {reply.status}: pass --auth")
    schemes = reply.json().get("components", {}).get("securitySchemes", {})
    modes = {SCHEMES[name] for name in schemes if name in SCHEMES}
    return modes.pop() if len(modes) == 1 else "none"


def resolve_token(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    token = args.token or env.get("SMOKE_TOKEN")
    if token:
        return str(token)
    if env.get("SMOKE_TOKEN_URL") and env.get("SMOKE_CLIENT_ID"):
        return client_credentials_token(
            env["SMOKE_TOKEN_URL"],
            env["SMOKE_CLIENT_ID"],
            env.get("SMOKE_CLIENT_SECRET", ""),
            env.get("SMOKE_SCOPE", "users/admin"),
            env.get("SMOKE_AUDIENCE"),
        )
    raise SmokeError(
        "the API needs a bearer token with the admin scope: SMOKE_TOKEN (make smoke TOKEN=...),"
        " or SMOKE_TOKEN_URL + SMOKE_CLIENT_ID + SMOKE_CLIENT_SECRET"
    )


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    env: Mapping[str, str] = os.environ,
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--url", required=True, help="the API's base URL (terraform output api_url)"
    )
    parser.add_argument("--auth", choices=AUTH_MODES, default="auto")
    parser.add_argument("--token", help="bearer token with the admin scope (or SMOKE_TOKEN)")
    parser.add_argument("--region", help="SigV4 region (--auth iam)")
    args = parser.parse_args(argv)
    url = args.url.rstrip("/")
    if urlsplit(url).scheme not in ("http", "https"):
        print(f"error: --url must be an http(s) URL, not {args.url!r}", file=sys.stderr)
        return 2
    api = Api(url)
    try:
        mode = detect_mode(api) if args.auth == "auto" else args.auth
        token = resolve_token(args, env) if mode == "jwt" else None
        if token is not None:
            api.sign = bearer(token)
        elif mode == "iam":
            api.sign = sigv4(args.region, url)
    except SmokeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    smoke = Smoke(api, mode, token_sub=token_subject(token) if token else None, out=out)
    return 0 if smoke.run() else 1


if __name__ == "__main__":
    sys.exit(main())
