"""`terraform init && terraform apply` on a fresh clone, through the offline stand-in of package.tf:
the package is built during the plan (no build/ beforehand), a second fresh clone of the same
commit (another directory, nothing built) plans no change to the function, and a code change plans
exactly one function update.

One apply (clone A, its own stack name so it shares the session's emulator with the default
stack), then plans from clones B and C against a copy of A's state, as a remote backend would
serve it. The stacks use lambda_bytecode = true, so the .pyc files, too, must come out identical.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.test_terraform import FUNCTION, unexpected_changes
from tools.localaws.emulator import Emulator
from tools.localaws.stage import REPO, Stack

# One worker under pytest-xdist: clone A's apply is shared by the module's tests.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fresh_clone")]

VARIABLES: dict[str, Any] = {"name": "fresh-clone", "environment": "dev", "lambda_bytecode": True}


def fresh_clone(dest: Path) -> Path:
    """A clone of this checkout's commit plus its uncommitted changes to tracked files (so the
    code under test is what gets cloned): no build/, no .local/, no caches."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(dest)], check=True)
    diff = subprocess.run(
        ["git", "-C", str(REPO), "diff", "HEAD", "--binary"], capture_output=True, check=True
    ).stdout
    if diff:
        subprocess.run(["git", "-C", str(dest), "apply"], input=diff, check=True)
    assert not (dest / "build").exists()
    return dest


def planned_from(clone: Path, emulator: Emulator, deployed: Stack, name: str) -> Stack:
    """A stack staged from `clone` (its own build) holding a copy of `deployed`'s state."""
    stack = Stack(emulator.endpoint, name=name, root=clone)
    stack.stage(VARIABLES)
    shutil.copyfile(deployed.workdir / "terraform.tfstate", stack.workdir / "terraform.tfstate")
    return stack


@pytest.fixture(scope="module")
def deployed(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    clone = fresh_clone(tmp_path_factory.mktemp("clone-a") / "users-api")
    stack = Stack(emulator.endpoint, name="fresh-clone", root=clone)
    stack.stage(VARIABLES)
    stack.apply(VARIABLES)
    # Not destroyed: its names are its own, and the session's emulator goes with everything in
    # it (tests/infra/test_destroy.py proves destroy on the default stack).
    return stack


def test_fresh_clone_builds_during_the_plan_and_applies(
    deployed: Stack, emulator: Emulator
) -> None:
    result = deployed.build_result
    package = Path(result["package_dir"])
    assert package.parent == deployed.root / "build" / "packages"
    assert package.name == result["sha256"][:16]
    assert (result["runtime"], result["architecture"], result["bytecode"]) == (
        "python3.13",
        "x86_64",
        "true",
    )
    assert (package / "users_api" / "__pycache__" / "app.cpython-313.pyc").is_file()

    function = emulator.client("lambda").get_function(FunctionName="fresh-clone-dev")
    deployed_hash = base64.b64encode(hashlib.sha256(deployed.zip_path.read_bytes()).digest())
    assert function["Configuration"]["CodeSha256"] == deployed_hash.decode()
    assert function["Configuration"]["Runtime"] == "python3.13"


def test_second_fresh_clone_plans_no_change_to_the_function(
    deployed: Stack, emulator: Emulator, tmp_path: Path
) -> None:
    stack = planned_from(fresh_clone(tmp_path / "users-api"), emulator, deployed, "clone-b")
    try:
        assert stack.zip_path.name == deployed.zip_path.name
        assert stack.zip_path.read_bytes() == deployed.zip_path.read_bytes()
        plan = stack.plan()
    finally:
        stack.remove()

    assert not unexpected_changes(plan), "a fresh clone of the same commit plans changes"
    function = plan.resource_change(FUNCTION)["change"]
    assert function["after"]["source_code_hash"] == function["before"]["source_code_hash"]
    assert function["after"]["filename"] == function["before"]["filename"]


def test_code_change_plans_exactly_one_function_update(
    deployed: Stack, emulator: Emulator, tmp_path: Path
) -> None:
    clone = fresh_clone(tmp_path / "users-api")
    handler = clone / "lambda" / "users_api" / "app.py"
    handler.write_text(handler.read_text() + "\n# a change to the function's code\n")
    stack = planned_from(clone, emulator, deployed, "clone-c")
    try:
        assert stack.zip_path.name != deployed.zip_path.name
        new_hash = base64.b64encode(hashlib.sha256(stack.zip_path.read_bytes()).digest()).decode()
        plan = stack.plan()
    finally:
        stack.remove()

    assert plan.exit_code == 2
    # Exactly one function update; it publishes a new version, so the `live` alias follows it.
    assert sorted((change.address, change.actions) for change in plan.changes) == [
        ("aws_lambda_alias.live[0]", ("update",)),
        (FUNCTION, ("update",)),
    ]
    alias = plan.resource_change("aws_lambda_alias.live[0]")["change"]
    assert alias["after_unknown"].get("function_version") is True
    function = plan.resource_change(FUNCTION)["change"]
    assert function["before"]["source_code_hash"] != new_hash
    assert function["after"]["source_code_hash"] == new_hash
