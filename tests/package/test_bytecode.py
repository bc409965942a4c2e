"""The build as Terraform runs it (--external) and with bytecode: deterministic .pyc compiled by
the function's own Python with /var/task paths, an explicit failure when that Python is missing,
and a package for every supported runtime that imports and serves under its interpreter."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import build
from tools.events import http_api_event

ROOT = build.ROOT
BUILD_PY = ROOT / "tools" / "build.py"


def run_build(*args: str, query: Any = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD_PY), *args],
        input=None if query is None else json.dumps(query),
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )


def needs(version: str) -> Path:
    python = build.find_interpreter(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed here: pyenv install {version}")
    return python


def snapshot(root: Path) -> dict[str, bytes]:
    return {name: (root / name).read_bytes() for name in build.tree_files(root)}


def test_external_mode_speaks_terraforms_protocol() -> None:
    needs("3.13")
    query = {"runtime": "python3.13", "architecture": "x86_64", "bytecode": "true"}
    result = run_build("--external", query=query)

    assert result.returncode == 0, result.stderr
    built = json.loads(result.stdout)  # stdout is the JSON object alone; progress is on stderr
    assert set(built) == {
        "package_dir",
        "sha256",
        "runtime",
        "architecture",
        "python_version",
        "platform_tag",
        "bytecode",
        "files",
        "bytes",
    }
    assert all(isinstance(value, str) for value in built.values())  # the protocol's only type
    package = Path(built["package_dir"])
    assert package == ROOT / "build" / "packages" / built["sha256"][:16]
    assert build.tree_digest(package) == (built["sha256"], int(built["files"]), int(built["bytes"]))
    assert (built["platform_tag"], built["bytecode"]) == ("cpython-313-x86_64-linux-gnu", "true")
    assert "build: " in result.stderr


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"runtime": "python3.13"}, "expected a query with exactly"),
        (
            {"runtime": "python3.10", "architecture": "x86_64", "bytecode": "false"},
            "unknown Lambda runtime 'python3.10'; expected one of python3.11, python3.12, "
            "python3.13",
        ),
        (
            {"runtime": "python3.13", "architecture": "x86_64", "bytecode": "yes"},
            'bytecode must be "true" or "false"',
        ),
    ],
)
def test_external_mode_rejects_a_bad_query_with_one_message(
    query: dict[str, str], message: str
) -> None:
    result = run_build("--external", query=query)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("tools/build.py: ")
    assert message in result.stderr


def test_bytecode_without_the_target_python_fails_saying_what_to_install(tmp_path: Path) -> None:
    # No pyenv versions and no python3.13 on PATH: only the tools' own Python.
    bare_path = tmp_path / "bin"
    bare_path.mkdir()
    (bare_path / "python3").symlink_to(sys.executable)
    query = {"runtime": "python3.13", "architecture": "x86_64", "bytecode": "true"}
    result = run_build(
        "--external",
        "--out",
        str(tmp_path / "out"),
        query=query,
        PATH=str(bare_path),
        PYENV_ROOT=str(tmp_path / "no-pyenv"),
    )

    assert result.returncode == 1, result.stdout
    message = " ".join(result.stderr.split())
    assert "lambda_bytecode is on" in message
    assert "pyenv install 3.13" in message
    assert "set lambda_bytecode = false" in message
    assert not (tmp_path / "out" / "packages").exists()  # no different package instead


def test_bytecode_builds_are_byte_identical_across_directories(tmp_path: Path) -> None:
    needs("3.13")
    # The code copied elsewhere and touched, built into another directory. (Two fresh clones
    # with their own pip installs give identical zips too: tests/package/test_fresh_clone.py.)
    source = tmp_path / "elsewhere" / "users_api"
    shutil.copytree(ROOT / "lambda" / "users_api", source)
    os.utime(source / "app.py")
    trees = []
    for run in ("one", "two"):
        args = ["--bytecode", "--out", str(tmp_path / run), "--cache-dir", str(ROOT / "build")]
        if run == "two":
            args += ["--source", str(source)]
        result = run_build(*args)
        assert result.returncode == 0, result.stderr
        trees.append(snapshot(tmp_path / run / "package"))

    assert trees[0] == trees[1]
    manifest = json.loads((tmp_path / "one" / "package.json").read_text())
    assert (manifest["bytecode"], manifest["bytecode_python"][:5]) == (True, "3.13.")


def test_bytecode_is_unchecked_hash_with_the_paths_lambda_sees(tmp_path: Path) -> None:
    python = needs("3.13")
    result = run_build("--bytecode", "--out", str(tmp_path), "--cache-dir", str(ROOT / "build"))
    assert result.returncode == 0, result.stderr
    package = tmp_path / "package"
    ours = package / "users_api" / "__pycache__" / "app.cpython-313.pyc"
    vendored = package / "pydantic" / "main.pyc"  # sourceless: main.py is gone
    assert ours.is_file()
    assert (package / "users_api" / "app.py").is_file()  # our tracebacks keep their lines
    assert vendored.is_file()
    assert not (package / "pydantic" / "main.py").exists()
    assert (package / "pydantic" / "v1" / "main.py").is_file()  # left as source
    assert not list((package / "pydantic" / "v1").rglob("*.pyc"))

    for pyc, expected in (
        (ours, "/var/task/users_api/app.py"),
        (vendored, "/var/task/pydantic/main.py"),
    ):
        data = pyc.read_bytes()
        assert int.from_bytes(data[4:8], "little") == 0b01  # hash-based, never checked
        probe = "import marshal, sys; print(marshal.loads(sys.stdin.buffer.read()).co_filename)"
        shown = subprocess.run(
            [str(python), "-c", probe], input=data[16:], capture_output=True, check=True
        )
        assert shown.stdout.decode().strip() == expected  # read by 3.13: its marshal format


SERVE = """
import json, sys
import users_api.app as app
import users_api.users.schema as schema
event = json.loads(sys.stdin.read())
print(json.dumps({"response": app.handler(event, None),
                  "version": list(sys.version_info[:2]),
                  "models": schema.__cached__ or schema.__file__}))
"""


@pytest.mark.parametrize("runtime", list(build.RUNTIMES))
def test_each_supported_runtime_gets_a_package_that_imports_under_its_python(
    runtime: str, tmp_path: Path
) -> None:
    version = build.RUNTIMES[runtime]
    python = needs(version)
    out = ["--out", str(tmp_path), "--cache-dir", str(ROOT / "build")]
    result = run_build("--runtime", runtime, "--bytecode", *out)
    assert result.returncode == 0, result.stderr
    sdk = build.install_runtime_deps(version, ROOT / "build" / f"runtime-deps-{version}")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "package"), str(sdk)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "USERS_TABLE": "users",
        "EMAILS_TABLE": "emails",
        "IDEMPOTENCY_TABLE": "idempotency",
    }
    served = subprocess.run(
        [str(python), "-s", "-c", SERVE],
        input=json.dumps(http_api_event("GET", "/hello", route_key="GET /hello")),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )

    assert served.returncode == 0, served.stderr
    output = json.loads(served.stdout.strip().splitlines()[-1])
    assert output["version"] == [int(part) for part in version.split(".")]
    assert output["response"]["statusCode"] == 200
    assert output["models"].endswith(
        f"users_api/users/__pycache__/schema.cpython-{version.replace('.', '')}.pyc"
    )
