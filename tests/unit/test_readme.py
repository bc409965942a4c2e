"""The README's generated parts agree with the code they describe."""

from __future__ import annotations

from tools import docs


def test_inputs_and_outputs_tables_are_generated_from_the_module() -> None:
    found = docs.blocks()
    readme = docs.README.read_text()

    assert docs.render(readme, found) == readme, "run make docs"
    variables = {block.name for block in found if block.kind == "variable"}
    assert {"authorization", "billing_mode", "lambda_bytecode", "alarms_enabled"} <= variables
    for block in found:
        assert block.attributes.get("description"), f"{block.kind} {block.name} has no description"
        if block.kind == "variable":
            assert block.attributes.get("type"), f"variable {block.name} has no type"


def test_every_make_target_the_readme_names_exists() -> None:
    makefile = (docs.REPO / "Makefile").read_text()
    readme = docs.README.read_text()
    for target in ("local", "test", "token", "bench", "openapi", "docs", "checkov", "build"):
        assert f"make {target}" in readme
        assert f"\n{target}:" in makefile, target
