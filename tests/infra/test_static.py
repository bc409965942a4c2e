"""The configuration as text: formatted, free of emulator settings, one packaging seam."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tools import build, hcl
from tools.localaws.stage import (
    BUILD_PROGRAM,
    EXTERNAL_RESULT,
    REPO,
    RUNTIMES_JSON,
    SWAPPED_TF,
    build_query,
    build_zip,
)

ROOT_TF = sorted(REPO.glob("*.tf"))
PACKAGE_TF = REPO / "package.tf"
VERSIONS_TF = REPO / "versions.tf"
OFFLINE_PACKAGE_TF = REPO / "tools" / "localaws" / "offline" / "package.tf"

requires_terraform = pytest.mark.skipif(
    shutil.which("terraform") is None, reason="terraform is not installed"
)


@requires_terraform
def test_terraform_files_are_formatted() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", "-no-color", ".", "tools/localaws/offline"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CHECKPOINT_DISABLE": "1"},
    )
    assert result.returncode == 0, f"run `make fmt`:\n{result.stdout}"


def test_real_configuration_holds_no_emulator_endpoints_or_credentials() -> None:
    forbidden = re.compile(
        r"127\.0\.0\.1|localhost|endpoints\s*\{|access_key|secret_key|skip_credentials|"
        r"skip_requesting_account_id|AKIA"
    )
    # The one exception: jwt_issuer's validation admits http:// for a loopback issuer (the local
    # tooling's), and says so; nothing else may name a local address.
    issuer = re.compile(r'^variable "jwt_issuer" \{.*?^\}', re.MULTILINE | re.DOTALL)
    for path in [*ROOT_TF, OFFLINE_PACKAGE_TF]:
        text = issuer.sub("", path.read_text())
        found = forbidden.findall(text)
        assert not found, f"{path.name} holds local-only settings: {found}"


def _locals(path: Path) -> set[str]:
    names = {name for block in hcl.load(path).get("locals", []) for name in block}
    return {name for name in names if name.startswith("lambda_package_")}


def test_offline_package_file_exposes_the_same_locals_as_the_real_one() -> None:
    assert (
        _locals(PACKAGE_TF)
        == _locals(OFFLINE_PACKAGE_TF)
        == {
            "lambda_package_path",
            "lambda_package_hash",
            "lambda_package_manifest",
        }
    )
    # The rest of the configuration uses the package only through those locals.
    for path in ROOT_TF:
        if path != PACKAGE_TF:
            assert "archive_file" not in path.read_text(), path.name


def _tree(root: Path) -> None:
    (root / "users_api").mkdir(parents=True)
    (root / "users_api" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    (root / "users_api" / "__init__.py").write_text("")
    (root / "zz.py").write_text("Z = 1\n")
    (root / "users_api" / "app.py").chmod(0o755)


def test_python_zip_is_byte_identical_for_the_same_tree(tmp_path: Path) -> None:
    _tree(tmp_path / "one")
    _tree(tmp_path / "two")
    os.utime(tmp_path / "two" / "zz.py", (1_000_000_000, 1_000_000_000))
    build_zip(tmp_path / "one", tmp_path / "one.zip")
    build_zip(tmp_path / "two", tmp_path / "two.zip")

    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    assert build_zip(tmp_path / "one", tmp_path / "two.zip") is False  # unchanged: not rewritten
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == [
        "users_api/__init__.py",
        "users_api/app.py",
        "zz.py",
    ]
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_python_zip_changes_with_the_content(tmp_path: Path) -> None:
    _tree(tmp_path / "tree")
    build_zip(tmp_path / "tree", tmp_path / "package.zip")
    before = (tmp_path / "package.zip").read_bytes()
    (tmp_path / "tree" / "zz.py").write_text("Z = 2\n")

    assert build_zip(tmp_path / "tree", tmp_path / "package.zip") is True
    assert (tmp_path / "package.zip").read_bytes() != before


def _provider_blocks(paths: list[Path]) -> list[str]:
    return [p.name for p in paths for _ in re.finditer(r"required_providers\s*{", p.read_text())]


def test_real_and_staged_roots_each_have_exactly_one_required_providers_block() -> None:
    # Terraform refuses a module with two ("Duplicate required providers configuration"), and
    # the staged copy never sees the real package.tf and versions.tf, so this is checked on the
    # files.
    staged = [p for p in ROOT_TF if p.name not in SWAPPED_TF] + [OFFLINE_PACKAGE_TF]
    assert SWAPPED_TF == ("package.tf", "versions.tf")
    assert _provider_blocks(ROOT_TF) == ["versions.tf"]
    assert _provider_blocks(staged) == ["package.tf"]
    versions = VERSIONS_TF.read_text()
    offline = OFFLINE_PACKAGE_TF.read_text()
    aws_pin = 'source  = "hashicorp/aws"\n      version = "~> 5.100"'
    assert aws_pin in versions
    assert aws_pin in offline
    assert 'source  = "hashicorp/archive"\n      version = "~> 2.7"' in versions
    assert 'source  = "hashicorp/external"\n      version = "~> 2.3"' in versions
    assert "hashicorp/archive" not in offline
    assert "hashicorp/external" not in offline
    # The same Terraform everywhere: 1.11, from which the S3 backend's use_lockfile is GA.
    required = re.compile(r'^\s*required_version = "([^"]+)"', re.MULTILINE)
    assert required.findall(versions) == required.findall(offline) == [">= 1.11"]
    assert required.findall((REPO / "bootstrap" / "main.tf").read_text()) == [">= 1.11"]
    assert [p.name for p in ROOT_TF if required.search(p.read_text())] == ["versions.tf"]
    for backend in (REPO / "environments").glob("*.s3.tfbackend"):
        assert "use_lockfile = true" in backend.read_text()


def test_offline_stand_in_runs_the_real_program_with_the_real_query() -> None:
    """The seam: package.tf's data "external" and tools/localaws/stage.py run one program, one
    query."""
    external = hcl.blocks(PACKAGE_TF, "data")["external.lambda_package"]
    assert hcl.value(external["program"]) == [
        "python3",
        "${path.module}/" + BUILD_PROGRAM[0],
        *BUILD_PROGRAM[1:],
    ]
    query = {key: hcl.expression(raw) for key, raw in external["query"].items()}
    # Each key carries its variable as a string: as is, or through tostring() (which
    # tools.localaws.stage.build_query mirrors for bools).
    assert {key: re.sub(r"^tostring\((.*)\)$", r"\1", value) for key, value in query.items()} == {
        key: f"var.{variable}" for key, variable in build.QUERY.items()
    }
    assert build_query({"lambda_bytecode": True}) == {
        "runtime": "python3.13",
        "architecture": "x86_64",
        "bytecode": "true",
    }


def test_both_seams_name_the_zip_by_the_build_result_content() -> None:
    real = PACKAGE_TF.read_text()
    offline = OFFLINE_PACKAGE_TF.read_text()
    assert "source_dir       = data.external.lambda_package.result.package_dir" in real
    assert "lambda_package_manifest = data.external.lambda_package.result" in real
    assert (
        'output_path      = "${path.module}/build/lambda-'
        '${substr(data.external.lambda_package.result.sha256, 0, 16)}.zip"'
    ) in real
    assert f'jsondecode(file("${{path.module}}/{EXTERNAL_RESULT}"))' in offline
    assert (
        '"${path.module}/build/lambda-${substr(local.lambda_package_manifest.sha256, 0, 16)}.zip"'
    ) in offline


def test_supported_runtimes_are_one_list_for_terraform_the_build_and_the_docs() -> None:
    runtimes = json.loads((REPO / RUNTIMES_JSON).read_text())
    assert list(runtimes) == ["python3.11", "python3.12", "python3.13"]  # datetime.UTC needs 3.11
    assert list(build.RUNTIMES) == list(runtimes)
    # AWS's dates (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html), ISO dates, the
    # block after the deprecation.
    for dates in runtimes.values():
        assert set(dates) == {"deprecation", "block_function_update"}
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", dates["deprecation"])
        assert dates["deprecation"] < dates["block_function_update"]
    assert runtimes["python3.11"] == {
        "deprecation": "2026-06-30",
        "block_function_update": "2026-08-31",
    }
    variable = hcl.blocks(REPO / "variables.tf", "variable")["lambda_runtime"]
    validation = variable["validation"][0]
    reads = f'jsondecode(file("${{path.module}}/{RUNTIMES_JSON}"))'
    assert hcl.expression(validation["condition"]) == f"contains(keys({reads}), var.lambda_runtime)"
    assert "python3.1" not in str(variable["validation"])  # no second copy of the list


def test_route_keys_are_read_from_openapi_json_and_written_nowhere() -> None:
    route_key = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /')
    for path in [*ROOT_TF, *sorted((REPO / "tools" / "localaws" / "offline").glob("*.tf"))]:
        assert not route_key.search(path.read_text()), f"{path.name} names a route key"
    main = (REPO / "main.tf").read_text()
    assert 'openapi      = jsondecode(file("${path.module}/openapi.json"))' in main
    assert "for_each = toset(local.route_keys)" in main
