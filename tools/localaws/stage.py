"""The project's own Terraform, applied against the AWS emulator from a staged copy.

Used by the infrastructure tests (tests/conftest.py) and by `make local` (tools/localaws/local.py).
The
root's `.terraform/` and `terraform.tfstate` are never touched: everything happens in
`.local/stacks/<name>/`, which holds

- the root `*.tf` files, copied unchanged, except `package.tf` and `versions.tf`, replaced by
  `tools/localaws/offline/package.tf` (the external and archive providers cannot be fetched here: it
  stands in for package.tf's data sources and versions.tf's terraform block),
  `lambda/runtimes.json` (lambda_runtime's validation reads it) and `openapi.json` (the routes);
- `build/external-result.json`: what package.tf's data "external" returns, from the same program
  (`python3 <root>/tools/build.py --external`) given the same query (tools.build.QUERY, from the
  stack's variables and variables.tf's defaults), and `build/lambda-<sha256 prefix>.zip`, its
  tree zipped as archive_file does (tools.build.write_zip);
- `emulator_override.tf`: the provider pointed at the emulator with test credentials;
- `terraform.rc`: a CLI config installing hashicorp/aws from the filesystem mirror
  (`/opt/tf-plugins`, or `$TF_PLUGIN_MIRROR`) when it exists, set via TF_CLI_CONFIG_FILE for
  our subprocesses only. Init symlinks the provider from an unpacked mirror (under a second);
  without a mirror it is downloaded once into `.local/terraform-plugin-cache/`
  (TF_PLUGIN_CACHE_DIR) and linked from there;
- `emulator.auto.tfvars.json`: the variables of the last `apply()`, and `NN-<file>-vars.auto.tfvars`
  copies of its `var_files`, so `plan()` and `destroy()` see the same ones; and the state.

API (stable; progress lines go to stderr, each prefixed "==> "):

    from tools.localaws.stage import Stack, StackError

    stack = Stack(endpoint="http://127.0.0.1:4566", name="local")
    stack.stage({"name": "x"})          # (re)write the staged directory, build, zip; -> Path
    stack.init()                        # terraform init (offline from the mirror, < 1 s)
    stack.validate()                    # terraform validate
    outputs = stack.apply({"environment": "dev"})   # -> {"api_url": ..., ...} (plain values)
    stack.apply({...}, var_files=[Path("environments/prod.tfvars")])  # the dict overrides the file
    stack.outputs()                     # the same, read from the state
    plan = stack.plan()                 # Plan(exit_code, changes, json): -detailed-exitcode
    plan.exit_code                      # 0 no changes, 2 changes
    plan.changes                        # [Change(address, actions, attributes), ...]
    plan.resource_change(address)       # that resource's entry of the plan JSON
    stack.plan_exit_code()              # just the exit code
    stack.terraform(*args, step="...", ok_codes=(0,))  # any other command, in the workdir
    stack.state_json()                  # `terraform show -json` of the state
    stack.use_credentials(assumed)      # sign as another principal (AWS_* keys); None: admin
    stack.resources()                   # {address: attributes} from the state file (instant)
    stack.destroy()                     # destroy(refresh=False) skips the refresh: quicker
    stack.remove()                      # delete the staged directory

`Stack(endpoint, name="local", *, root=REPO, package=True)`; `root` is the checkout to deploy
(its build/ holds the package), and `package=False` stages another root module (e.g.
`root=REPO / "bootstrap"`) as it is: its `*.tf` and the override, no package swap, no build;
`stack.workdir` is the staged directory (`<root>/.local/stacks/<name>/`),
`stack.timings` maps each step ("init", "apply", "plan", "destroy") to its last duration in
seconds. Every failing step raises `StackError`, whose message ends with terraform's (or the
build's) last stderr lines (`error.stderr_tail`). `stage()` is called by `init()` if needed;
`apply(variables)` calls `init()` if needed and builds again if the variables change the query.

terraform runs in its own process group: a terminal's Ctrl-C reaches the caller only; when
the caller is interrupted mid-step (KeyboardInterrupt or any exception), terraform gets SIGINT
(it stops cleanly and writes its state), then its whole group SIGKILL after 15 s, so no
provider process is left behind. `stack.zip_path` is the deployed zip, `stack.build_result` the
build's result.

`python -m tools.localaws.stage --endpoint URL [--name N] {stage,init,apply,plan,destroy}` runs one
step
by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools import docs, hcl
from tools.build import QUERY, write_zip
from tools.localaws.emulator import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY

REPO = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO / ".local"
STACKS_DIR = LOCAL_DIR / "stacks"
PLUGIN_CACHE_DIR = LOCAL_DIR / "terraform-plugin-cache"
OFFLINE_PACKAGE_TF = REPO / "tools" / "localaws" / "offline" / "package.tf"
# package.tf's data "external" program, relative to the root module; the interpreter is python3.
BUILD_PROGRAM = ("tools/build.py", "--external")
RUNTIMES_JSON = "lambda/runtimes.json"
# Files besides the *.tf that the configuration reads (file()), copied as they are.
DATA_FILES = (RUNTIMES_JSON, "openapi.json")
# The root's files the offline stand-in replaces.
SWAPPED_TF = ("package.tf", "versions.tf")
EXTERNAL_RESULT = "build/external-result.json"
DEFAULT_PLUGIN_MIRROR = "/opt/tf-plugins"
AWS_PROVIDER = "registry.terraform.io/hashicorp/aws"


# Every AWS service the provider calls for this configuration (kms: the optional CMK, and reading
# a table with SSE; route53: the optional custom domain's record; appautoscaling: PROVISIONED;
# s3: the bootstrap/ root's state bucket; codedeploy: a gradual deployment_strategy).
SERVICES = (
    "apigatewayv2",
    "appautoscaling",
    "cloudwatch",
    "codedeploy",
    "dynamodb",
    "iam",
    "kms",
    "lambda",
    "logs",
    "route53",
    "s3",
    "sns",
    "ssm",
    "sts",
    "xray",
)


class StackError(RuntimeError):
    """A step failed; the message says which and ends with terraform's last stderr lines."""

    def __init__(self, message: str, stderr_tail: str = "") -> None:
        super().__init__(f"{message}\n{stderr_tail}".rstrip())
        self.stderr_tail = stderr_tail


@dataclass(frozen=True)
class Change:
    """One resource a plan would change: its address, actions and changed top-level attributes."""

    address: str
    actions: tuple[str, ...]
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    exit_code: int  # terraform plan -detailed-exitcode: 0 no changes, 2 changes
    changes: list[Change]
    json: dict[str, Any] = field(repr=False)

    def resource_change(self, address: str) -> dict[str, Any]:
        """The plan JSON's `resource_changes` entry for `address`."""
        for change in self.json.get("resource_changes", []):
            if change["address"] == address:
                return dict(change)
        raise KeyError(address)


def progress(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def build_zip(package_dir: Path, zip_path: Path) -> bool:
    """The package zipped as `archive_file` would (tools.build.write_zip); False if unchanged.

    The same tree always gives the same bytes, so the function's source_code_hash changes only
    with the content, and an unchanged zip is not rewritten.
    """
    fresh = zip_path.with_name(f"{zip_path.name}.new")
    write_zip(package_dir, fresh)
    if zip_path.exists() and zip_path.read_bytes() == fresh.read_bytes():
        fresh.unlink()
        return False
    fresh.replace(zip_path)
    return True


def _tostring(value: Any) -> str:
    """Terraform's tostring() of a string or bool."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tfvars_literals(path: Path) -> dict[str, Any]:
    """The top-level `name = <string|bool|number>` assignments of a .tfvars file (lists and maps
    are left to Terraform), read by the one HCL reader (tools/hcl.py)."""
    values = hcl.tfvars(path)
    return {k: v for k, v in values.items() if isinstance(v, str | bool | int | float)}


def build_query(variables: Mapping[str, Any], root: Path = REPO) -> dict[str, str]:
    """The query package.tf's data "external" sends, for these variables over the defaults
    (variables.tf's, read as tools.docs reads them for the README)."""
    defaults = {
        block.name: block.attributes.get("default")
        for block in docs.blocks(root)
        if block.kind == "variable"
    }

    def value(variable: str) -> Any:
        if variable in variables:
            return variables[variable]
        return json.loads(defaults[variable] or "null")  # a string, bool or null literal

    return {key: _tostring(value(variable)) for key, variable in QUERY.items()}


def run_build(root: Path, query: Mapping[str, str]) -> dict[str, str]:
    """Run package.tf's external program as Terraform does (in root, query on stdin)."""
    python = shutil.which("python3")
    if python is None:
        raise StackError("python3 is not on PATH: package.tf runs the build with it")
    progress(f"building the package ({', '.join(f'{k}={v}' for k, v in query.items())})")
    result = subprocess.run(
        [python, str(root / BUILD_PROGRAM[0]), *BUILD_PROGRAM[1:]],
        input=json.dumps(dict(query)),
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise StackError("the package build failed", result.stderr.strip())
    built: dict[str, str] = json.loads(result.stdout)
    return built


def _hcl_string(value: str) -> str:
    return json.dumps(value)


def emulator_override(endpoint: str, credentials: Mapping[str, str] | None = None) -> str:
    """The provider override that sends every service the configuration uses to `endpoint`,
    signed with `credentials` (AWS_* names; default: the emulator's administrator)."""
    creds = credentials or {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
    }
    token = creds.get("AWS_SESSION_TOKEN")
    token_line = f"\n  token                       = {_hcl_string(token)}" if token else ""
    width = max(len(service) for service in SERVICES)  # aligned as `terraform fmt` would
    endpoints = "\n".join(
        f"    {service:<{width}} = {_hcl_string(endpoint)}" for service in SERVICES
    )
    return f"""\
# Written by tools/localaws/stage.py: the staged copy talks to the AWS emulator, never to AWS.
provider "aws" {{
  region                      = "{REGION}"
  access_key                  = {_hcl_string(creds["AWS_ACCESS_KEY_ID"])}
  secret_key                  = {_hcl_string(creds["AWS_SECRET_ACCESS_KEY"])}{token_line}
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  # moto serves buckets under the path, not as <bucket>.<host> subdomains.
  s3_use_path_style = true

  endpoints {{
{endpoints}
  }}
}}
"""


def cli_config(mirror: str | None) -> str:
    """A CLI config installing hashicorp/aws from `mirror` (when given), anything else directly."""
    if mirror is None:
        return (
            "# Written by tools/localaws/stage.py: no provider mirror, providers from the"
            " registry.\n"
        )
    return f"""\
# Written by tools/localaws/stage.py: hashicorp/aws from the local mirror, anything else directly.
provider_installation {{
  filesystem_mirror {{
    path    = {_hcl_string(mirror)}
    include = ["{AWS_PROVIDER}"]
  }}
  direct {{
    exclude = ["{AWS_PROVIDER}"]
  }}
}}
"""


def plugin_mirror() -> str | None:
    mirror = os.environ.get("TF_PLUGIN_MIRROR", DEFAULT_PLUGIN_MIRROR)
    return mirror if mirror and Path(mirror).is_dir() else None


def _changed_attributes(change: Mapping[str, Any]) -> tuple[str, ...]:
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    names = set(before) | set(after) | set(unknown)
    return tuple(
        sorted(
            name
            for name in names
            if before.get(name) != after.get(name) or unknown.get(name) not in (None, False)
        )
    )


class Stack:
    """The root module staged under `.local/stacks/<name>/`, applied against `endpoint`."""

    def __init__(
        self,
        endpoint: str,
        name: str = "local",
        *,
        root: Path = REPO,
        package: bool = True,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.name = name
        self.root = root
        self.package = package
        self.workdir = root / ".local" / "stacks" / name
        self.timings: dict[str, float] = {}
        self.variables: dict[str, Any] = {}
        self.file_values: dict[str, Any] = {}  # literals of the var files of the last apply
        self.build_result: dict[str, str] = {}
        # Whose keys terraform signs with (None: the emulator's administrator); see use_credentials.
        self.credentials: dict[str, str] | None = None
        self._staged = False
        self._initialised = False

    # --- staging --------------------------------------------------------------------------

    def stage(self, variables: Mapping[str, Any] | None = None) -> Path:
        """Write the staged directory: the .tf files, the override, the CLI config, the build's
        result and zip. `variables` replace the stack's (kept for plan/destroy) from now on."""
        if variables is not None:
            self.variables = dict(variables)
        work = self.workdir
        work.mkdir(parents=True, exist_ok=True)
        for old in work.glob("*.tf"):
            old.unlink()
        for source in sorted(self.root.glob("*.tf")):
            if source.name not in SWAPPED_TF or not self.package:
                shutil.copyfile(source, work / source.name)
        (work / "emulator_override.tf").write_text(
            emulator_override(self.endpoint, self.credentials)
        )
        (work / "terraform.rc").write_text(cli_config(plugin_mirror()))
        (work / "emulator.auto.tfvars.json").write_text(
            json.dumps(self.variables, indent=2, sort_keys=True) + "\n"
        )
        if self.package:
            shutil.copyfile(OFFLINE_PACKAGE_TF, work / "package.tf")
            for data_file in DATA_FILES:
                if (self.root / data_file).exists():  # an older layout may read fewer
                    (work / data_file).parent.mkdir(exist_ok=True)
                    shutil.copyfile(self.root / data_file, work / data_file)
            self._stage_package()
        self._staged = True
        return work

    def _stage_package(self) -> None:
        """What package.tf does at plan: the build for this query, its tree zipped."""
        query = build_query({**self.file_values, **self.variables}, self.root)
        result = run_build(self.root, query)
        build_dir = self.workdir / "build"
        build_dir.mkdir(exist_ok=True)
        zip_path = build_dir / f"lambda-{result['sha256'][:16]}.zip"
        for stale in build_dir.glob("lambda-*.zip"):
            if stale != zip_path:
                stale.unlink()
        build_zip(Path(result["package_dir"]), zip_path)
        (self.workdir / EXTERNAL_RESULT).write_text(json.dumps(result, indent=2) + "\n")
        self.build_result = result

    def use_credentials(self, credentials: Mapping[str, str] | None) -> None:
        """Run the next terraform commands as another principal (AWS_ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), e.g. a pipeline role; None: the administrator."""
        self.credentials = dict(credentials) if credentials else None
        if self._staged:
            (self.workdir / "emulator_override.tf").write_text(
                emulator_override(self.endpoint, self.credentials)
            )

    @property
    def zip_path(self) -> Path:
        if not self.build_result:
            self.build_result = json.loads((self.workdir / EXTERNAL_RESULT).read_text())
        return self.workdir / "build" / f"lambda-{self.build_result['sha256'][:16]}.zip"

    # --- terraform ------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The environment of our terraform subprocesses (the caller's own is left alone)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"))
        }
        if plugin_mirror() is None:
            # Downloaded from the registry: cache the ~700 MB provider once for every stack.
            # (From the unpacked mirror, init symlinks it: 0.7 s, nothing to cache.)
            PLUGIN_CACHE_DIR.mkdir(parents=True, exist_ok=True)
            env["TF_PLUGIN_CACHE_DIR"] = str(PLUGIN_CACHE_DIR)
        # terraform and the AWS provider (which inherits it) are Go programs that build the
        # provider's schema, hundreds of MB, at every start. Collecting garbage at 4x the live
        # heap instead of 2x costs about 150 MB more and 15-30 % less CPU (the default stack on
        # the emulator, CPU seconds: apply 12.8 -> 9.7, plan 10.4 -> 7.6, destroy 15.1 -> 10.3).
        # A caller's own GOGC wins.
        env.setdefault("GOGC", "400")
        env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.workdir / "terraform.rc"),
                "TF_IN_AUTOMATION": "1",
                "TF_INPUT": "0",
                "CHECKPOINT_DISABLE": "1",
                "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
            }
        )
        return env

    def terraform(
        self, *args: str, step: str, ok_codes: Iterable[int] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        """Run `terraform <args>` in the staged directory; StackError unless its code is ok."""
        if shutil.which("terraform") is None:
            raise StackError("terraform is not installed: install Terraform >= 1.11 and retry")
        command = ["terraform", *args, "-no-color"]
        # Its own process group: a terminal's Ctrl-C reaches us, not terraform, and if we are
        # interrupted we stop terraform *and its provider* (killing terraform alone orphans it).
        with subprocess.Popen(
            command,
            cwd=self.workdir,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as process:
            try:
                stdout, stderr = process.communicate()
            except BaseException:
                _interrupt_group(process)
                raise
        result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
        if result.returncode not in tuple(ok_codes):
            tail = "\n".join(result.stderr.strip().splitlines()[-25:])
            raise StackError(
                f"terraform {step} failed (exit {result.returncode}) in {self.workdir}", tail
            )
        return result

    def _timed(self, step: str, message: str) -> _Timer:
        progress(message)
        return _Timer(self, step)

    def init(self) -> None:
        """terraform init in the staged directory (providers from the mirror, no backend)."""
        if not self._staged:
            self.stage()
        with self._timed("init", f"terraform init in {self._where()}"):
            self.terraform("init", "-input=false", "-backend=false", step="init")
        self._initialised = True

    def validate(self) -> None:
        if not self._initialised:
            self.init()
        self.terraform("validate", step="validate")

    def apply(
        self, variables: Mapping[str, Any] | None = None, var_files: Iterable[Path] = ()
    ) -> dict[str, Any]:
        """terraform apply with `var_files` (e.g. environments/prod.tfvars) and `variables`,
        which override the files' values; both are kept for plan/destroy. Returns the outputs."""
        if not self._initialised:
            self.init()
        # The build's query also reads the files' values (e.g. prod.tfvars' lambda_bytecode), as
        # Terraform would; `variables` still win.
        file_values: dict[str, Any] = {}
        for var_file in var_files:
            file_values.update(tfvars_literals(Path(var_file)))
        changed = variables is not None and dict(variables) != self.variables
        if changed or file_values != self.file_values:
            self.file_values = file_values
            self.stage(variables)
        for old in self.workdir.glob("*-vars.auto.tfvars"):
            old.unlink()
        # Copied as auto.tfvars named to sort before emulator.auto.tfvars.json, which terraform
        # reads last, so `variables` win.
        for index, var_file in enumerate(var_files):
            shutil.copyfile(
                var_file, self.workdir / f"{index:02d}-{Path(var_file).stem}-vars.auto.tfvars"
            )
        with self._timed("apply", f"terraform apply against {self.endpoint}"):
            self.terraform("apply", "-input=false", "-auto-approve", step="apply")
        return self.outputs()

    def outputs(self) -> dict[str, Any]:
        result = self.terraform("output", "-json", step="output")
        return {key: value["value"] for key, value in json.loads(result.stdout or "{}").items()}

    def plan(self) -> Plan:
        """terraform plan -detailed-exitcode, with the plan's JSON and the changed attributes."""
        if not self._initialised:
            self.init()
        with self._timed("plan", "terraform plan (expecting no changes)"):
            result = self.terraform(
                "plan",
                "-input=false",
                "-detailed-exitcode",
                "-out=emulator.tfplan",
                step="plan",
                ok_codes=(0, 2),
            )
            shown = self.terraform("show", "-json", "emulator.tfplan", step="show")
        data = json.loads(shown.stdout)
        changes = [
            Change(
                address=change["address"],
                actions=tuple(change["change"]["actions"]),
                attributes=_changed_attributes(change["change"]),
            )
            for change in data.get("resource_changes", [])
            if change["change"]["actions"] not in (["no-op"], ["read"])
        ]
        return Plan(exit_code=result.returncode, changes=changes, json=data)

    def plan_exit_code(self) -> int:
        return self.plan().exit_code

    def state_json(self) -> dict[str, Any]:
        result = self.terraform("show", "-json", step="show")
        return dict(json.loads(result.stdout or "{}"))

    def resources(self) -> dict[str, dict[str, Any]]:
        """Address -> attributes of every managed resource, read straight from the state file.

        No terraform run (so no seconds spent loading the provider's schema); the attributes are
        the state's own, e.g. `resources()["aws_apigatewayv2_api.users"]["execution_arn"]`.
        """
        path = self.workdir / "terraform.tfstate"
        state = json.loads(path.read_text()) if path.exists() else {}
        found: dict[str, dict[str, Any]] = {}
        for resource in state.get("resources", []):
            if resource.get("mode") != "managed" or resource.get("module"):
                continue
            base = f"{resource['type']}.{resource['name']}"
            for instance in resource.get("instances", []):
                key = instance.get("index_key")
                suffix = "" if key is None else f"[{json.dumps(key)}]"
                found[base + suffix] = dict(instance.get("attributes", {}))
        return found

    def destroy(self, *, refresh: bool = True) -> None:
        """terraform destroy with the variables of the last apply (no-op without a state).

        `refresh=False` skips reading every resource back first (quicker on shutdown).
        """
        if not (self.workdir / "terraform.tfstate").exists():
            return
        if not self._initialised:
            self.init()
        with self._timed("destroy", f"terraform destroy against {self.endpoint}"):
            self.terraform(
                "destroy",
                "-input=false",
                "-auto-approve",
                f"-refresh={'true' if refresh else 'false'}",
                step="destroy",
            )

    def lift_deletion_protection(self) -> bool:
        """Turn the tables' deletion protection off (a targeted apply), so that `destroy` can
        remove them; False when no table of the state has it on."""
        protected = [
            address
            for address, attributes in self.resources().items()
            if address.startswith("aws_dynamodb_table.")
            and attributes.get("deletion_protection_enabled")
        ]
        if not protected:
            return False
        with self._timed("unprotect", "turning the tables' deletion protection off"):
            self.terraform(
                "apply",
                "-input=false",
                "-auto-approve",
                "-var=dynamodb_deletion_protection=false",
                *(f"-target={address}" for address in protected),
                step="apply",
            )
        return True

    def remove(self) -> None:
        """Delete the staged directory (state included); the shared plugin cache stays."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        self._staged = self._initialised = False

    def _where(self) -> str:
        return self._shown(self.workdir)

    def _shown(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def _interrupt_group(process: subprocess.Popen[str], grace: float = 15.0) -> None:
    """SIGINT terraform's group (it stops cleanly, saving state), then SIGKILL what is left."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.communicate(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # a provider that outlived terraform


class _Timer:
    def __init__(self, stack: Stack, step: str) -> None:
        self.stack = stack
        self.step = step
        self.start = 0.0

    def __enter__(self) -> None:
        self.start = time.monotonic()

    def __exit__(self, *exc_info: object) -> None:
        elapsed = time.monotonic() - self.start
        self.stack.timings[self.step] = elapsed
        if exc_info[0] is None:
            progress(f"{self.step} done in {elapsed:.1f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint", default="http://127.0.0.1:4566")
    parser.add_argument("--name", default="local")
    parser.add_argument("step", choices=["stage", "init", "apply", "plan", "destroy"])
    args = parser.parse_args(argv)
    stack = Stack(args.endpoint, args.name)
    try:
        if args.step == "stage":
            print(stack.stage())
        elif args.step == "init":
            stack.init()
        elif args.step == "apply":
            print(json.dumps(stack.apply(), indent=2))
        elif args.step == "plan":
            for change in stack.plan().changes:
                print(change)
        else:
            stack.destroy()
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
