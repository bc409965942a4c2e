"""`make local VARS=environments/<env>.tfvars`: which authorization it serves, what it overrides
and says, and that an environment's build settings reach the offline package build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.localaws import local, stage

REPO = Path(__file__).resolve().parents[2]
PROD = REPO / "environments" / "prod.tfvars"


@pytest.mark.parametrize(
    ("auth", "var_file", "mode"),
    [
        (None, None, "none"),
        (None, PROD, "jwt"),  # prod.tfvars: authorization = "JWT"
        ("iam", PROD, "iam"),  # AUTH= wins over the file
        (None, REPO / "environments" / "dev.tfvars", "none"),
    ],
)
def test_the_authorization_comes_from_auth_or_the_variables_file(
    auth: str | None, var_file: Path | None, mode: str
) -> None:
    assert local.auth_mode_for(auth, var_file) == mode


def test_an_unknown_authorization_in_the_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tfvars"
    bad.write_text('authorization = "OAUTH"\n')

    with pytest.raises(local.LocalError, match="is not known"):
        local.auth_mode_for(None, bad)


def test_prod_variables_are_read_as_terraform_would_for_the_build() -> None:
    values = stage.tfvars_literals(PROD)

    assert values["authorization"] == "JWT"
    assert values["dynamodb_deletion_protection"] is True
    assert values["lambda_bytecode"] is True
    assert "read_min" not in values  # a member of an object, not a variable
    query = stage.build_query({**values, "lambda_runtime": "python3.13"})
    assert query == {"runtime": "python3.13", "architecture": "x86_64", "bytecode": "true"}


def test_a_missing_variables_file_is_one_line_with_the_fix(capsys: Any) -> None:
    code = local.main(["--vars", "environments/nope.tfvars", "--api-port", "1"])

    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: no variables file environments/nope.tfvars (e.g. VARS=environments/prod.tfvars)"
    ]
