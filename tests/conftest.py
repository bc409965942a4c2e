"""The shared emulator: one moto server per test session (fixture `emulator`), and the project's
own Terraform applied to it once per configuration (`deployed_stack(emulator, config, variables)`
in a session fixture; `emulator_stack` is the default configuration).

Tests that need deployed infrastructure (tests/infra, tests/e2e) take a stack fixture and read
what they need from it:

    emulator_stack.endpoint        "http://127.0.0.1:<free port>"
    emulator_stack.outputs         terraform outputs, plain values (api_url, users_table_name, ...)
    emulator_stack.variables       the variables it was applied with
    emulator_stack.client("iam")   a boto3 client pointed at the emulator (test credentials/region)
    emulator_stack.state()         `terraform show -json` of the state
    emulator_stack.resource(addr)  one resource's attributes from the state file (instant)
    emulator_stack.stack           the tools.localaws.stage.Stack (workdir, plan(), timings, ...)
    emulator_stack.emulator        the tools.localaws.emulator.Emulator (env() for an SDK's AWS_*
    variables)

Tests marked `destroys_stack` run last in the session (tests/infra/test_destroy.py destroys the
stack and proves nothing is left); if none ran, the fixture's teardown destroys it. It needs the
package that `make build` writes (`make test` builds first).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tools.localaws.bearer_token import process_alive
from tools.localaws.emulator import Emulator, EmulatorError, free_port
from tools.localaws.local import auth_variables
from tools.localaws.oidc import LocalIssuer
from tools.localaws.stage import REPO, STACKS_DIR, Stack, StackError

# Processes the tests start (`python -m tools.localaws.local`) import the function's router as make
# local's
# do (tools/route_match.py): lambda/ on their import path.
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(
        None, [str(Path(__file__).resolve().parent.parent / "lambda"), os.environ.get("PYTHONPATH")]
    )
)

# Non-default values where a default would hide whether the variable reaches the resource.
STACK_VARIABLES: dict[str, Any] = {
    "name": "users-api",
    "environment": "dev",
    "cors_allowed_origins": ["https://app.example.com", "http://127.0.0.1:3000"],
    "throttling_burst_limit": 20,
    "throttling_rate_limit": 10,
    "log_retention_days": 7,
    "lambda_memory_mb": 256,
    "lambda_timeout_seconds": 10,
}

# Every session fixture that applies a configuration: the tests using one share a worker.
STACKS: set[str] = {"emulator_stack"}


def stack_fixture(function: Any) -> Any:
    """Declare a session fixture that applies a stack configuration (see STACKS)."""
    STACKS.add(function.__name__)
    return pytest.fixture(scope="session")(function)


# The switched-on configurations (issue 11): their own names, so they share the emulator.
# The rest of their variables are what `make local AUTH=jwt|iam` applies (tools.localaws.local).
JWT_AUDIENCE = "users-api-e2e"
JWT_STACK_VARIABLES: dict[str, Any] = {"name": "users-jwt"}
IAM_STACK_VARIABLES: dict[str, Any] = {"name": "users-iam"}

# Seconds per terraform step of the session's stack, shown in pytest's summary.
TIMINGS: dict[str, float] = {}


@dataclass
class EmulatorStack:
    emulator: Emulator
    stack: Stack
    variables: dict[str, Any]
    outputs: dict[str, Any]
    destroyed: bool = False
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _state: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return self.emulator.endpoint

    def client(self, service: str) -> Any:
        """A (cached) boto3 client for `service` against the emulator."""
        if service not in self._clients:
            self._clients[service] = self.emulator.client(service)
        return self._clients[service]

    def state(self) -> dict[str, Any]:
        """`terraform show -json` of the state (read once: each read costs seconds)."""
        if self._state is None:
            self._state = self.stack.state_json()
        return self._state

    def resource(self, address: str) -> dict[str, Any]:
        """The attributes of one resource, from the state file (no terraform run)."""
        return self.stack.resources()[address]

    def destroy(self) -> None:
        if not self.destroyed:
            self.destroyed = True
            self._state = None
            self.stack.destroy()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "destroys_stack: destroys the shared emulator stack; runs last in the session"
    )


def pytest_itemcollected(item: pytest.Item) -> None:
    # Under pytest-xdist (`make test` runs `-n N --dist loadgroup`), every test of one stack
    # configuration goes to one worker, so each configuration is applied once per run; tests of
    # different configurations run concurrently on other workers, each with its own emulator.
    # Tests on the emulator without a stack (bootstrap, fresh clones) keep their module together,
    # so its module-scoped fixtures are set up once. Marked as each item is collected: xdist
    # reads the groups in its own collection hook.
    names = set(getattr(item, "fixturenames", ()))
    stacks = sorted(names & STACKS)
    if stacks:
        item.add_marker(pytest.mark.xdist_group(stacks[0]))
    elif "emulator" in names and item.module is not None:
        item.add_marker(pytest.mark.xdist_group(item.module.__name__))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Stable: every other test keeps its order, the destroying ones move to the end.
    items.sort(key=lambda item: item.get_closest_marker("destroys_stack") is not None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        steps = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in TIMINGS.items())
        terminalreporter.write_line(f"emulator stack (terraform): {steps}")


def _remove_stacks_of_dead_sessions() -> None:
    """Staged stacks of killed sessions (their emulator is gone with them)."""
    for workdir in STACKS_DIR.glob("pytest-*"):
        pid = workdir.name.removeprefix("pytest-").split("-")[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def running_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """A moto_server on a free port until the block ends; its log is kept only if a test failed."""
    server = Emulator(port=free_port())
    try:
        server.start()
    except EmulatorError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
        if request.session.testsfailed == 0:
            server.log_path.unlink(missing_ok=True)  # kept only to debug a failure


@pytest.fixture(scope="session")
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """One moto_server on a free port for the whole session; every stack shares it."""
    with running_emulator(request) as server:
        _remove_stacks_of_dead_sessions()
        yield server


@contextlib.contextmanager
def deployed_stack(
    emulator: Emulator,
    config: str,
    variables: dict[str, Any],
    var_files: Sequence[Path] = (),
    *,
    root: Path = REPO,
    package: bool = True,
) -> Iterator[EmulatorStack]:
    """The project's Terraform applied to the shared emulator as stack `config`, destroyed after.

    `var_files` (e.g. environments/prod.tfvars) are applied as written, `variables` override them.
    Stacks share one emulator, so each configuration needs its own `name`/`environment` pair.
    `root` and `package` are Stack's (e.g. `root=REPO / "bootstrap", package=False`).
    """
    stack = Stack(
        emulator.endpoint, name=f"pytest-{os.getpid()}-{config}", root=root, package=package
    )
    try:
        stack.stage()
        outputs = stack.apply(variables, var_files)
    except StackError as error:
        stack.remove()
        pytest.fail(str(error), pytrace=False)
    deployed = EmulatorStack(emulator, stack, dict(variables), outputs)
    try:
        yield deployed
    finally:
        try:
            deployed.destroy()
        except StackError as error:
            print(f"warning: destroying the {config} stack failed: {error}", file=sys.stderr)
        finally:
            TIMINGS.update({f"{config} {step}": s for step, s in stack.timings.items()})
            stack.remove()


@stack_fixture
def emulator_stack(emulator: Emulator) -> Iterator[EmulatorStack]:
    """The default configuration (with STACK_VARIABLES), applied once per session."""
    with deployed_stack(emulator, "default", STACK_VARIABLES) as deployed:
        yield deployed


# The HTTP suites (contract fuzzing, the browser, hostile input, races, the data model) run on a
# second copy of the default configuration, so they run beside the infrastructure checks.
FRONT_STACK_VARIABLES: dict[str, Any] = {**STACK_VARIABLES, "name": "users-front"}


@stack_fixture
def front_stack(emulator: Emulator) -> Iterator[EmulatorStack]:
    """The default configuration again, for the HTTP suites, applied once per session."""
    with deployed_stack(emulator, "front", FRONT_STACK_VARIABLES) as deployed:
        yield deployed


@pytest.fixture(scope="session")
def oidc_issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIssuer]:
    """The local OIDC issuer on loopback (tools/localaws/oidc.py) that the JWT stack trusts."""
    with LocalIssuer(tmp_path_factory.mktemp("oidc"), audience=[JWT_AUDIENCE]) as issuer:
        yield issuer


@stack_fixture
def jwt_stack(emulator: Emulator, oidc_issuer: LocalIssuer) -> Iterator[EmulatorStack]:
    """authorization = "JWT" with the local issuer, applied once per session."""
    variables = {**JWT_STACK_VARIABLES, **auth_variables("jwt", oidc_issuer)}
    with deployed_stack(emulator, "jwt", variables) as deployed:
        yield deployed


@stack_fixture
def iam_stack(emulator: Emulator) -> Iterator[EmulatorStack]:
    """authorization = "AWS_IAM", applied once per session."""
    variables = {**IAM_STACK_VARIABLES, **auth_variables("iam", None)}
    with deployed_stack(emulator, "iam", variables) as deployed:
        yield deployed


# bootstrap/ as the tests apply it (tests/delivery/test_bootstrap.py reads it back; the pipeline's
# roles deploy with it in tests/infra/test_pipeline_roles.py).
BOOTSTRAP_VARIABLES: dict[str, Any] = {
    "github_repository": "octo-org/users-api",
    "environments": ["dev", "prod"],
    "state_bucket_name": "users-api-tfstate-pytest",
    "preview_stacks_enabled": True,
}


@stack_fixture
def pipeline_account(request: pytest.FixtureRequest) -> Iterator[EmulatorStack]:
    """An account of the pipeline's own: an emulator of its own with bootstrap/ applied once per
    session (state bucket, GitHub's OIDC provider, the deploy, plan and preview roles), so the
    stacks its roles deploy keep their real names (users-api-dev, users-api-prod) beside the
    session's other stacks. Destroyed at the end unless a test did (marked destroys_stack)."""
    with (
        running_emulator(request) as server,
        deployed_stack(
            server, "bootstrap", BOOTSTRAP_VARIABLES, root=REPO / "bootstrap", package=False
        ) as deployed,
    ):
        yield deployed
