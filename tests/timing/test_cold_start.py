"""The bench's cold-start measurement, end to end but for one round: it builds the package with
and without bytecode, starts fresh processes of the function's Python and reports medians.

The slow group (fresh interpreters, builds): no assertion on how fast anything is, only on what
is measured and that nothing is written into the packages (Lambda's /var/task is read-only).
"""

from __future__ import annotations

import pytest

from tools import build
from tools.bench import cold

pytestmark = pytest.mark.timing

TARGET = build.target_for("python3.13", "x86_64")


@pytest.fixture(scope="module")
def packages() -> cold.Packages:
    if build.find_interpreter(TARGET.python_version) is None:
        pytest.skip(f"Python {TARGET.python_version} is not installed: pyenv install 3.13")
    return cold.prepare(TARGET)


def test_cold_start_measures_every_kind_against_the_floor(packages: cold.Packages) -> None:
    before = {
        name: build.tree_digest(getattr(packages, name))[0] for name in ("bytecode", "source")
    }
    with cold.stub_dynamodb() as endpoint:
        figures = cold.measure(packages, endpoint, rounds=1)

    assert set(figures["cpu_ms"]) == set(cold.KINDS)
    assert all(figures["cpu_ms"][kind] > 0 for kind in cold.KINDS)
    for kind, ratio in figures["ratio"].items():
        assert ratio == pytest.approx(figures["cpu_ms"][kind] / figures["cpu_ms"]["floor"])
    assert figures["python"].startswith("3.13.")
    # Nothing compiled into either package at run time: both trees are as built.
    after = {name: build.tree_digest(getattr(packages, name))[0] for name in before}
    assert after == before


def test_the_two_packages_differ_only_by_bytecode(packages: cold.Packages) -> None:
    with_bytecode = set(build.tree_files(packages.bytecode))
    without = set(build.tree_files(packages.source))

    assert without - with_bytecode == {
        name
        for name in without
        if name.endswith(".py")
        and not name.startswith(("users_api/", "pydantic/v1/"))
        and (packages.bytecode / name).with_suffix(".pyc").is_file()
    }
    assert all(name.endswith(".pyc") for name in with_bytecode - without)
    assert not any(name.endswith(".pyc") for name in without)
    assert "users_api/__pycache__/app.cpython-313.pyc" in with_bytecode
    # The SDK is precompiled, as the runtime ships it.
    assert list((packages.sdk / "boto3" / "__pycache__").glob("*.cpython-313.pyc"))
