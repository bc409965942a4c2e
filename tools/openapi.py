"""Write the API's OpenAPI document (users_api.openapi) to the committed openapi.json.

    .venv/bin/python -m tools.openapi                  (from the repo root; `make openapi`)
    .venv/bin/python -m tools.openapi --check          exit 1 if openapi.json is stale
    .venv/bin/python -m tools.openapi --authorization JWT --out /tmp/openapi-jwt.json

The committed file is the document of the default configuration (authorization NONE); a stack
with authorization on serves its own at GET /openapi.json, with its security scheme.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMITTED = REPO / "openapi.json"


def render(authorization: str = "NONE") -> str:
    """The document's text, built by the function's own code (lambda/ on the child's path)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "lambda")}
    code = (
        "import sys; from users_api.api import INFO, ROUTER;"
        " from users_api.openapi import committed_text as text;"
        " sys.stdout.write(text(ROUTER, INFO, sys.argv[1]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, authorization],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the OpenAPI document (make openapi).")
    parser.add_argument("--out", type=Path, default=COMMITTED)
    parser.add_argument("--authorization", default="NONE", choices=("NONE", "JWT", "AWS_IAM"))
    parser.add_argument("--check", action="store_true", help="fail if --out is not up to date")
    args = parser.parse_args(argv)
    text = render(args.authorization)
    if args.check:
        current = args.out.read_text() if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is stale: run make openapi", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
