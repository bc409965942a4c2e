"""The Lambda package `make build` prepares: right contents, right platform, deterministic, and
it serves requests under the function's own Python with only what the Lambda runtime adds."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.tables import create_tables
from tools import build
from tools.events import http_api_event
from tools.localaws.emulator import free_port

ROOT = Path(__file__).resolve().parents[2]
BUILD_PY = ROOT / "tools" / "build.py"
PACKAGE = ROOT / "build" / "package"
MANIFEST = ROOT / "build" / "package.json"
HANDLER_MODULE = "users_api/app.py"
# ELF e_machine values: how the CPU is named inside the compiled module itself.
ELF_MACHINES = {"x86_64": 0x3E, "arm64": 0xB7}


def run_build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BUILD_PY), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def manifest() -> dict[str, Any]:
    """build/package as `make build` leaves it, brought up to date for the configured target
    (the one already built, else the Makefile's default)."""
    target = {"runtime": "python3.13", "architecture": "x86_64"}
    if MANIFEST.exists():
        target = json.loads(MANIFEST.read_text())
    result = run_build("--runtime", target["runtime"], "--architecture", target["architecture"])
    assert result.returncode == 0, result.stdout + result.stderr
    loaded: dict[str, Any] = json.loads(MANIFEST.read_text())
    return loaded


def package_files() -> list[str]:
    return build.tree_files(PACKAGE)


# --- (a) contents ----------------------------------------------------------------------------


def test_package_holds_the_handler_and_pydantic(manifest: dict[str, Any]) -> None:
    files = package_files()
    assert HANDLER_MODULE in files
    for module in ("pydantic/__init__.py", "pydantic_core/__init__.py", "typing_extensions.py"):
        assert module in files
    assert manifest["files"] == len(files)
    assert manifest["bytes"] == sum((PACKAGE / name).stat().st_size for name in files)


def test_package_leaves_out_what_lambda_provides_or_never_reads(manifest: dict[str, Any]) -> None:
    files = package_files()
    top_level = {name.split("/")[0] for name in files}
    assert not top_level & {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "bin"}
    assert not [name for name in files if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in files if "/tests/" in name or name.startswith("tests/")]
    assert not [name for name in files if Path(name).name.startswith("test_")]
    records = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
    assert not [name for name in files if Path(name).name in records]


def test_package_has_no_local_paths_or_build_times(manifest: dict[str, Any]) -> None:
    for name in package_files():
        text = (PACKAGE / name).read_bytes()
        assert str(ROOT).encode() not in text, name


def test_every_vendored_distribution_is_pinned_and_ships_its_licence(
    manifest: dict[str, Any],
) -> None:
    pins = build.pinned_requirements(build.DEFAULT_REQUIREMENTS)
    installed = build.installed_distributions(PACKAGE)
    assert set(installed) == {
        "pydantic",
        "pydantic-core",
        "typing-extensions",
        "annotated-types",
        "typing-inspection",
    }
    unpinned = {name: v for name, v in installed.items() if pins.get(name) != v}
    assert not unpinned, f"pin these in requirements-lambda.txt: {unpinned}"
    for dist_info in PACKAGE.glob("*.dist-info"):
        assert list(dist_info.glob("licenses/*")), f"{dist_info.name} ships no licence"


def test_tree_is_normalised(manifest: dict[str, Any]) -> None:
    for path in [PACKAGE, *PACKAGE.rglob("*")]:
        info = path.lstat()
        assert info.st_mtime == build.FIXED_MTIME, path
        assert (info.st_mode & 0o777) == (0o755 if path.is_dir() else 0o644), path
    assert manifest["sha256"] == build.tree_digest(PACKAGE)[0]


# --- (b) platform ----------------------------------------------------------------------------


def test_compiled_module_matches_the_configured_runtime_and_architecture(
    manifest: dict[str, Any],
) -> None:
    python = manifest["runtime"].removeprefix("python")
    assert manifest["python_version"] == python
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[manifest["architecture"]]
    expected_tag = f"cpython-{python.replace('.', '')}-{machine}-linux-gnu"
    modules = sorted(PACKAGE.glob("pydantic_core/_pydantic_core.*.so"))
    assert [module.name for module in modules] == [f"_pydantic_core.{expected_tag}.so"]
    assert manifest["platform_tag"] == expected_tag
    # The file name could lie; the ELF header cannot: class 64-bit, little-endian, e_machine.
    header = modules[0].read_bytes()[:20]
    assert header[:6] == b"\x7fELF\x02\x01"
    assert int.from_bytes(header[18:20], "little") == ELF_MACHINES[manifest["architecture"]]
    wheel = next(PACKAGE.glob("pydantic_core-*.dist-info/WHEEL")).read_text()
    assert f"Tag: cp{python.replace('.', '')}-cp{python.replace('.', '')}-manylinux" in wheel
    assert machine in wheel


def test_unknown_runtime_or_architecture_is_a_clear_error(tmp_path: Path) -> None:
    result = run_build("--runtime", "python2.7", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "unknown Lambda runtime 'python2.7'" in result.stderr
    result = run_build("--architecture", "arm", "--out", str(tmp_path))
    assert result.returncode == 1
    assert "unknown Lambda architecture 'arm'; expected one of x86_64, arm64" in result.stderr


# --- (c) determinism -------------------------------------------------------------------------


def snapshot(root: Path) -> dict[str, tuple[bytes, int, float]]:
    return {
        name: (
            (root / name).read_bytes(),
            (root / name).stat().st_mode,
            (root / name).stat().st_mtime,
        )
        for name in build.tree_files(root)
    }


def test_two_clean_builds_are_byte_identical_and_a_rebuild_skips_pip(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    target = ["--runtime", manifest["runtime"], "--architecture", manifest["architecture"]]
    # Two independent pip installs (separate caches), the second from a touched copy of the code.
    source = tmp_path / "src" / "users_api"
    shutil.copytree(ROOT / "lambda" / "users_api", source)
    os.utime(source / "app.py")
    outs = []
    for run in ("one", "two"):
        out = tmp_path / run
        args = [*target, "--out", str(out), "--cache-dir", str(tmp_path / f"cache-{run}")]
        if run == "two":
            args += ["--source", str(source)]
        result = run_build(*args, "--zip", str(out / "lambda.zip"))
        assert result.returncode == 0, result.stdout + result.stderr
        outs.append(out)
    one, two = outs
    assert snapshot(one / "package") == snapshot(two / "package")
    assert (one / "package.json").read_bytes() == (two / "package.json").read_bytes()
    assert (one / "lambda.zip").read_bytes() == (two / "lambda.zip").read_bytes()
    assert json.loads((one / "package.json").read_text())["sha256"] == manifest["sha256"]

    # A rebuild with unchanged requirements never runs pip and leaves the tree untouched.
    before = snapshot(one / "package")
    result = run_build(
        *target, "--out", str(one), "--cache-dir", str(tmp_path / "cache-one"),
        "--zip", str(one / "again.zip"),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pip skipped" in result.stderr
    assert snapshot(one / "package") == before
    assert (one / "again.zip").read_bytes() == (one / "lambda.zip").read_bytes()


# --- (d) the package serves requests under the function's Python -----------------------------


@pytest.fixture(scope="module")
def function_python(manifest: dict[str, Any]) -> Path:
    machine = {"x86_64": "x86_64", "arm64": "aarch64"}[manifest["architecture"]]
    if os.uname().machine != machine:
        pytest.skip(f"package built for {machine}; this machine is {os.uname().machine}")
    python = build.find_interpreter(manifest["python_version"])
    if python is None:
        pytest.skip(
            f"Python {manifest['python_version']} (the function's runtime) is not installed: "
            f"pyenv install {manifest['python_version']} to run this test"
        )
    return python


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    """A moto server on a free loopback port, for this module alone."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {url}") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


AWS_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}

INVOKE = """
import json, sys
import users_api.app as app

class Context:
    function_name = "users-api"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:users-api"
    memory_limit_in_mb = 256
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/users-api"
    log_stream_name = "stream"
    def get_remaining_time_in_millis(self):
        return 10000

results = [app.handler(event, Context()) for event in json.load(sys.stdin)]
print(json.dumps({
    "results": results,
    "pydantic_core": sys.modules["pydantic_core._pydantic_core"].__file__,
    "boto3": sys.modules["boto3"].__file__,
    "version": list(sys.version_info[:2]),
}))
"""


def test_package_serves_requests_under_the_function_python(
    manifest: dict[str, Any], function_python: Path, emulator: str, tmp_path: Path
) -> None:
    sdk = build.install_runtime_deps(
        manifest["python_version"],
        ROOT / "build" / f"runtime-deps-{manifest['python_version']}",
    )
    users, emails, keys = "pkg-test-users", "pkg-test-user-emails", "pkg-test-idempotency"
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=emulator,
        region_name=AWS_ENV["AWS_REGION"],
        aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    create_tables(dynamodb, {"users": users, "emails": emails, "idempotency": keys})
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # Lambda's order: the function's code first, then the runtime's boto3.
        "PYTHONPATH": os.pathsep.join([str(PACKAGE), str(sdk)]),
        "PYTHONDONTWRITEBYTECODE": "1",  # /var/task is read-only; keep build/package pristine
        "AWS_ENDPOINT_URL": emulator,
        "USERS_TABLE": users,
        "EMAILS_TABLE": emails,
        "IDEMPOTENCY_TABLE": keys,
        "LOG_LEVEL": "INFO",
        **AWS_ENV,
    }
    events = [
        http_api_event("GET", "/hello", route_key="GET /hello"),
        http_api_event(
            "POST",
            "/users",
            route_key="POST /users",
            json_body={"name": "Ada", "email": "Ada@Example.com"},
        ),
    ]
    result = subprocess.run(
        [str(function_python), "-s", "-c", INVOKE],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout.strip().splitlines()[-1])
    assert output["version"] == [int(part) for part in manifest["python_version"].split(".")]
    assert output["pydantic_core"].startswith(str(PACKAGE))
    assert output["boto3"].startswith(str(sdk))

    hello, created = output["results"]
    assert hello["statusCode"] == 200, hello
    assert json.loads(hello["body"])["message"] == "Hello from Lambda"
    assert created["statusCode"] == 201, created
    user = json.loads(created["body"])
    assert user["name"] == "Ada"
    assert user["email"] == "ada@example.com"
    headers = {key.lower(): value for key, value in created["headers"].items()}
    assert headers["location"] == f"/users/{user['user_id']}"
    stored = dynamodb.get_item(TableName=users, Key={"user_id": {"S": user["user_id"]}})
    assert stored["Item"]["email"] == {"S": "ada@example.com"}
    assert not list(PACKAGE.rglob("__pycache__"))
