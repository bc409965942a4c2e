"""Build the Lambda package directory that Terraform's `archive_file` zips.

    python3 tools/build.py --runtime python3.13 --architecture x86_64 [--bytecode] [--out build]
        [--zip F] [--runtime-deps DIR]                    (`make build`)
    python3 tools/build.py --external < query.json      (package.tf's data "external", at plan)

Produces, under --out (default build/):
  package/      the function's code (lambda/users_api) plus its runtime dependencies
                (requirements-lambda.txt) installed for the function's Python and CPU (pip
                --platform/--python-version/--only-binary: never the build machine's wheels);
  package.json  a manifest outside the package: runtime, architecture, python_version,
                platform_tag (the compiled pydantic_core module's tag), bytecode, files, bytes,
                sha256.

--external speaks Terraform's external-program protocol: it reads {"runtime", "architecture",
"bytecode"} (strings, see QUERY) on stdin, builds into build/packages/<sha256 prefix>/ (a tree
is never rewritten once there) and writes {"package_dir", "sha256", "runtime", "architecture",
"python_version", "platform_tag", "bytecode", "files", "bytes"} on stdout; progress goes to
stderr, and a failure is one message on stderr with exit 1.

The tree is deterministic: no install records, files 0644, directories 0755, every mtime fixed;
unchanged inputs give a byte-identical tree (and zip). --bytecode adds .pyc files compiled by the
function's own Python (found by find_interpreter; the build fails and says what to install when it
is missing), unchecked-hash and with /var/task paths, so they too are identical across rebuilds and
machines with the same Python release. The vendored dependencies are cached under
<cache-dir>/.deps-<key>/, keyed by requirements-lambda.txt + runtime + architecture + bytecode
compiler, so a rebuild with unchanged requirements never runs pip.

The tree hash is `sha256sum`'s output for the sorted files, hashed again:
    cd build/package && find . -type f -printf '%P\\n' | LC_ALL=C sort | xargs sha256sum | sha256sum

--runtime-deps DIR also installs what the Lambda runtime itself provides (boto3, botocore, at the
versions pinned in requirements-dev.txt) for the function's Python into DIR, so the package can be
run locally under that interpreter with PYTHONPATH=build/package:DIR (the order Lambda uses).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# package.tf runs whatever python3 is on the PATH, which may be older than the tools' 3.11.
if sys.version_info < (3, 9):  # noqa: UP036
    sys.exit(f"tools/build.py needs Python 3.9 or newer as python3, not {sys.version.split()[0]}")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT / "lambda" / "users_api"
DEFAULT_REQUIREMENTS = ROOT / "requirements-lambda.txt"
DEV_REQUIREMENTS = ROOT / "requirements-dev.txt"
DEFAULT_OUT = ROOT / "build"

# The Lambda runtimes the function supports, listed once: variables.tf validates lambda_runtime
# against the same file. python3.11 runs on Amazon Linux 2 (glibc 2.26), python3.12+ on Amazon
# Linux 2023 (glibc 2.34): manylinux2014 (glibc 2.17) wheels run on all of them.
RUNTIMES_FILE = ROOT / "lambda" / "runtimes.json"
RUNTIMES = {
    runtime: runtime.removeprefix("python") for runtime in json.loads(RUNTIMES_FILE.read_text())
}
# Lambda architecture -> (pip platform, machine name in extension module tags and ELF headers)
ARCHITECTURES = {
    "x86_64": ("manylinux2014_x86_64", "x86_64"),
    "arm64": ("manylinux2014_aarch64", "aarch64"),
}
EXTENSION_MODULE = "pydantic_core/_pydantic_core.*.so"
# What the Lambda runtime ships and the package must not: it would shadow the runtime's copy.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

FIXED_MTIME = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can hold
FILE_MODE = 0o644
DIR_MODE = 0o755
# Bump when what ends up in a cached deps directory changes (pip flags, stripping rules).
DEPS_FORMAT = "4"

# Bytecode (lambda_bytecode): /var/task is read-only, so without it every cold start compiles each
# module it imports. Compiled by the function's own Python (a .pyc is read only by the minor
# version that wrote it), unchecked-hash (no mtime in the header, never re-validated: the package
# is immutable) and with co_filename as Lambda sees it. Our code keeps its source (tracebacks
# show the lines) with the .pyc in __pycache__; the vendored dependencies ship the .pyc alone
# (sourceless, next to where the .py was), or the zip would pass 3 MB. pydantic.v1, pydantic's
# copy of its old API that only `import pydantic.v1` loads, stays as source.
TASK_ROOT = "/var/task"
NOT_COMPILED = r"/pydantic/v1/"
PYC_FLAGS_UNCHECKED_HASH = 0b01

# What Terraform's data "external" (package.tf) sends: query key -> the variable it carries.
# tools/localaws/stage.py sends the same query offline; tests/infra/test_static.py checks
# package.tf.
QUERY = {
    "runtime": "lambda_runtime",
    "architecture": "lambda_architecture",
    "bytecode": "lambda_bytecode",
}

SKIP_DIRS = {"__pycache__", "tests", "test"}
# Written by pip at install time (local paths, installer name) and of no use on Lambda.
INSTALL_RECORDS = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
# Files only type checkers read; nothing imports them. pydantic's mypy plugins import mypy,
# which is not in the package, so they can never be imported on Lambda either.
TYPING_ONLY_SUFFIXES = (".pyi",)
TYPING_ONLY_NAMES = {"py.typed"}
MYPY_PLUGINS = {"pydantic/mypy.py", "pydantic/v1/mypy.py"}


class BuildError(Exception):
    """A build failure with a message for the person running `make build` or `terraform plan`."""


@dataclass(frozen=True)
class Target:
    """The function's runtime and architecture, and what they mean for pip and the package."""

    runtime: str
    architecture: str

    @property
    def python_version(self) -> str:
        return RUNTIMES[self.runtime]

    @property
    def pip_platform(self) -> str:
        return ARCHITECTURES[self.architecture][0]

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.architecture][1]

    @property
    def platform_tag(self) -> str:
        """The tag CPython puts in extension module names, e.g. cpython-313-x86_64-linux-gnu."""
        return f"cpython-{self.python_version.replace('.', '')}-{self.machine}-linux-gnu"


def target_for(runtime: str, architecture: str) -> Target:
    """Validate a runtime/architecture pair as Terraform's variables name them."""
    if runtime not in RUNTIMES:
        raise BuildError(
            f"unknown Lambda runtime {runtime!r}; expected one of {', '.join(RUNTIMES)}"
        )
    if architecture not in ARCHITECTURES:
        raise BuildError(
            f"unknown Lambda architecture {architecture!r}; expected one of "
            f"{', '.join(ARCHITECTURES)}"
        )
    return Target(runtime, architecture)


def log(message: str) -> None:
    # stderr: in --external mode stdout carries the one JSON object Terraform reads.
    print(f"build: {message}", file=sys.stderr, flush=True)


# --- the tree: hashing, normalising, zipping -------------------------------------------------


def tree_files(root: Path) -> list[str]:
    """Every file under root as a sorted list of POSIX relative paths."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() or path.is_symlink()
    )


def tree_digest(root: Path) -> tuple[str, int, int]:
    """(sha256, file count, total bytes) of a tree, as `sha256sum` over the sorted files."""
    listing = hashlib.sha256()
    total = 0
    files = tree_files(root)
    for rel in files:
        data = (root / rel).read_bytes()
        total += len(data)
        listing.update(f"{hashlib.sha256(data).hexdigest()}  {rel}\n".encode())
    return listing.hexdigest(), len(files), total


def normalise(root: Path) -> None:
    """Fixed modes and mtimes for everything under root (and root itself), no symlinks."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            path = Path(dirpath, name)
            if path.is_symlink():
                raise BuildError(f"symlink in the package: {path} (the zip would dereference it)")
            path.chmod(DIR_MODE if path.is_dir() else FILE_MODE)
            os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    root.chmod(DIR_MODE)
    os.utime(root, (FIXED_MTIME, FIXED_MTIME))


def archive_order(root: Path) -> Iterator[str]:
    """Files in the order Go's filepath.Walk visits them (archive_file's order): lexical per
    directory, descending into a directory where its name sorts."""

    def walk(directory: Path, prefix: str) -> Iterator[str]:
        for name in sorted(os.listdir(directory)):
            path = directory / name
            if path.is_dir():
                yield from walk(path, f"{prefix}{name}/")
            else:
                yield f"{prefix}{name}"

    return walk(root, "")


def write_zip(package: Path, zip_path: Path) -> None:
    """Zip a package directory the way `archive_file` with output_file_mode = "0644" does:
    files only (no directory entries), Walk order, mode 0644, one fixed timestamp, deflated.
    The bytes differ from Go's (another deflate implementation) but are just as stable."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(f".{zip_path.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in archive_order(package):
            info = zipfile.ZipInfo(rel, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3  # unix, so external_attr carries the mode
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (package / rel).read_bytes())
    tmp.replace(zip_path)


# --- copying and stripping -------------------------------------------------------------------


def is_test_file(name: str) -> bool:
    return name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")


def copy_sources(source: Path, dest: Path) -> int:
    """Copy the function's .py files (no tests, no caches) from source to dest/<source name>."""
    if not source.is_dir():
        raise BuildError(f"function source {source} does not exist")
    count = 0
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith(".py") or is_test_file(name):
                continue
            src = Path(dirpath, name)
            target = dest / source.name / src.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
            count += 1
    if count == 0:
        raise BuildError(f"no .py files in {source}: nothing to package")
    return count


def strip_vendored(root: Path) -> list[str]:
    """Remove what Lambda never reads from a pip --target tree; return what was removed."""
    removed: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, topdown=True):
        here = Path(dirpath)
        for name in list(dirnames):
            if (name == "bin" and here == root) or name in {"__pycache__", "tests", "test"}:
                shutil.rmtree(here / name)
                dirnames.remove(name)
                removed.append((here / name).relative_to(root).as_posix() + "/")
        in_dist_info = here.name.endswith(".dist-info")
        for name in filenames:
            path = here / name
            rel = path.relative_to(root).as_posix()
            if (
                (in_dist_info and name in INSTALL_RECORDS)
                or name.endswith((".pyc", ".pyo"))
                or (not in_dist_info and is_test_file(name))
                or name.endswith(TYPING_ONLY_SUFFIXES)
                or name in TYPING_ONLY_NAMES
                or rel in MYPY_PLUGINS
            ):
                path.unlink()
                removed.append(rel)
    # Directories left empty (pydantic_core/_pydantic_core/ held only stubs): an empty directory
    # named like the extension module would only confuse readers, and zips drop it anyway.
    for dirpath, _dirnames, _filenames in os.walk(root, topdown=False):
        path = Path(dirpath)
        if path != root and not any(path.iterdir()):
            path.rmdir()
    return sorted(removed)


# --- dependencies ----------------------------------------------------------------------------


def pinned_requirements(path: Path) -> dict[str, str]:
    """`name==version` lines of a requirements file, by normalised name."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*==\s*([^\s;]+)", line)
        if match:
            pins[canonical(match.group(1))] = match.group(3)
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(root: Path) -> dict[str, str]:
    """Distribution name -> version for every *.dist-info under root."""
    found: dict[str, str] = {}
    for meta in sorted(root.glob("*.dist-info/METADATA")):
        fields = dict(
            line.split(": ", 1)
            for line in meta.read_text(encoding="utf-8").split("\n\n", 1)[0].splitlines()
            if ": " in line
        )
        found[canonical(fields["Name"])] = fields["Version"]
    return found


def run_pip(args: list[str], what: str) -> None:
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    command += ["--quiet", *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 and "No module named pip" in result.stderr:
        raise BuildError(
            f"pip is not installed for {sys.executable}: install it (apt-get install "
            f"python3-pip, or {sys.executable} -m ensurepip) and retry"
        )
    if result.returncode != 0:
        output = "\n".join(
            line if len(line) < 300 else f"{line[:300]}..."
            for line in (result.stdout + result.stderr).splitlines()
            if "is ignored: it is neither a file nor a directory" not in line
        )
        raise BuildError(
            f"pip could not install {what} (exit {result.returncode}). Is there no network to "
            f"PyPI, or no wheel for this platform?\n  {' '.join(command)}\n{output.strip()}"
        )


def deps_key(requirements: Path, target: Target, compiler: Compiler | None = None) -> str:
    digest = hashlib.sha256()
    bytecode = compiler.version if compiler else "no-bytecode"
    for part in (DEPS_FORMAT, target.runtime, target.architecture, bytecode):
        digest.update(part.encode() + b"\0")
    digest.update(requirements.read_bytes())
    return digest.hexdigest()[:16]


def vendored_deps(
    requirements: Path, target: Target, cache_dir: Path, compiler: Compiler | None = None
) -> Path:
    """The stripped (and compiled), normalised dependency tree for target, pip unless cached.

    Builds into other output directories share the cache: one process fills an entry at a time
    (a lock per key), and the others then find it filled.
    """
    key = deps_key(requirements, target, compiler)
    cached = cache_dir / f".deps-{key}"
    if cached.is_dir():
        log(f"dependencies unchanged, pip skipped ({cached.relative_to(cache_dir.parent)})")
        return cached
    cache_dir.mkdir(parents=True, exist_ok=True)
    with locked(cache_dir / f".deps-{key}.lock"):
        if cached.is_dir():  # filled by another build while this one waited
            return cached
        return _install_deps(requirements, target, cache_dir, cached, compiler)


def _install_deps(
    requirements: Path, target: Target, cache_dir: Path, cached: Path, compiler: Compiler | None
) -> Path:
    started = time.monotonic()
    log(
        f"installing {requirements.name} for {target.runtime}/{target.architecture} "
        f"({target.pip_platform})"
    )
    with tempfile.TemporaryDirectory(prefix=".deps-", dir=cache_dir) as tmp:
        staging = Path(tmp, "deps")
        run_pip(
            [
                "--target",
                str(staging),
                "--platform",
                target.pip_platform,
                "--implementation",
                "cp",
                "--python-version",
                target.python_version,
                "--only-binary=:all:",
                "--no-compile",
                "--requirement",
                str(requirements),
            ],
            requirements.name,
        )
        strip_vendored(staging)
        check_vendored(staging, target, requirements, pins=False)
        if compiler is not None:
            compiler.compile(staging, TASK_ROOT, sourceless=True)
        normalise(staging)
        staging.rename(cached)
    log(f"dependencies installed in {time.monotonic() - started:.1f}s")
    return cached


def check_vendored(root: Path, target: Target, requirements: Path, *, pins: bool = True) -> str:
    """Check the vendored tree is right for target (and, with pins, that every distribution in
    it is pinned in requirements); return the extension module's tag."""
    leaked = [name for name in RUNTIME_PROVIDED if (root / name).exists()]
    if leaked:
        raise BuildError(
            f"{', '.join(leaked)} ended up in the package; the Lambda runtime provides them "
            f"(remove whatever pulls them in from {requirements.name})"
        )
    modules = sorted(root.glob(EXTENSION_MODULE))
    if len(modules) != 1:
        raise BuildError(f"expected one {EXTENSION_MODULE} in the package, found {modules}")
    tag = modules[0].name.split(".")[1]
    if tag != target.platform_tag:
        raise BuildError(
            f"pydantic_core was installed for {tag}, not {target.platform_tag} "
            f"({target.runtime}/{target.architecture})"
        )
    if not pins:
        return tag
    pinned = pinned_requirements(requirements)
    unpinned = {
        name: version
        for name, version in installed_distributions(root).items()
        if pinned.get(name) != version
    }
    if unpinned:
        # A warning, not an error: the build is still right, only less reproducible.
        wanted = " ".join(f"{name}=={version}" for name, version in sorted(unpinned.items()))
        log(f"warning: not pinned in {requirements.name}: {wanted}")
    return tag


# --- the interpreter and SDK the Lambda runtime provides, for running the package locally ----


def find_interpreter(python_version: str) -> Path | None:
    """A CPython `python_version` (e.g. "3.13") on this machine: pyenv's newest patch release,
    else python3.13 on PATH; None when there is none."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(
        glob.glob(str(pyenv_root / "versions" / f"{python_version}.*" / "bin" / "python")),
        key=lambda path: [int(part) for part in re.findall(r"\d+", Path(path).parts[-3])],
        reverse=True,
    )
    on_path = shutil.which(f"python{python_version}")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        result = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip() == python_version:
            return Path(candidate)
    return None


@dataclass(frozen=True)
class Compiler:
    """The function's own Python, compiling the package's bytecode."""

    python: Path
    version: str  # the full version, e.g. 3.13.0: it is recorded in the manifest
    magic: bytes

    def compile(self, tree: Path, ddir: str, *, sourceless: bool) -> None:
        """Compile every .py under tree as `ddir/<relative path>` (co_filename); sourceless: the
        .pyc next to where the .py was, which is then removed (NOT_COMPILED excepted)."""
        command = [str(self.python), "-I", "-m", "compileall", "-q", "-d", ddir]
        command += ["--invalidation-mode", "unchecked-hash", "-x", NOT_COMPILED]
        if sourceless:
            command.append("-b")
        result = subprocess.run([*command, str(tree)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BuildError(f"compiling {tree} failed:\n{(result.stdout + result.stderr).strip()}")
        if sourceless:
            for source in tree.rglob("*.py"):
                if source.with_suffix(".pyc").is_file():
                    source.unlink()

    def check(self, tree: Path, target: Target) -> None:
        """The handler's module has its .pyc, written for the target's Python, unchecked-hash."""
        tag = f"cpython-{target.python_version.replace('.', '')}"
        pyc = tree / "users_api" / "__pycache__" / f"app.{tag}.pyc"
        if not pyc.is_file():
            raise BuildError(f"bytecode is on but {pyc.relative_to(tree)} is missing")
        header = pyc.read_bytes()[:8]
        flags = int.from_bytes(header[4:8], "little")
        if header[:4] != self.magic or flags != PYC_FLAGS_UNCHECKED_HASH:
            raise BuildError(f"{pyc.relative_to(tree)} is not unchecked-hash {tag} bytecode")


def bytecode_compiler(target: Target) -> Compiler:
    """The target's CPython on this machine, or a BuildError saying what to install or set."""
    version = target.python_version
    python = find_interpreter(version)
    if python is None:
        raise BuildError(
            f"lambda_bytecode is on: the package's bytecode must be compiled by CPython {version} "
            f"({target.runtime} reads only {version} bytecode), and none was found (looked for "
            f"pyenv's {version}.* and python{version} on PATH). Install it (pyenv install "
            f"{version}, apt-get install python{version}, brew install python@{version}, or "
            f"python.org) or set lambda_bytecode = false (make build: LAMBDA_BYTECODE=0)."
        )
    probe = "import importlib.util, platform; print(platform.python_version()); "
    probe += "print(importlib.util.MAGIC_NUMBER.hex())"
    lines = subprocess.run(
        [str(python), "-I", "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    return Compiler(python, lines[0], bytes.fromhex(lines[1]))


def install_runtime_deps(python_version: str, dest: Path) -> Path:
    """Install boto3/botocore (pinned in requirements-dev.txt) for `python_version` into dest,
    once: what the Lambda runtime provides, for running the package under that Python here."""
    pins = pinned_requirements(DEV_REQUIREMENTS)
    wanted = [f"{name}=={pins[name]}" for name in ("boto3", "botocore")]
    marker = dest / f".installed-{hashlib.sha256(' '.join(wanted).encode()).hexdigest()[:12]}"
    with locked(dest.parent / f".{dest.name}.lock"):
        if not marker.exists():
            _install_runtime_deps(python_version, dest, wanted)
            marker.touch()
    return dest


def _install_runtime_deps(python_version: str, dest: Path, wanted: list[str]) -> None:
    log(f"installing the runtime's SDK ({' '.join(wanted)}) for Python {python_version} in {dest}")
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_pip(
        [
            "--target",
            str(dest),
            "--python-version",
            python_version,
            "--implementation",
            "cp",
            "--only-binary=:all:",
            "--no-compile",
            *wanted,
        ],
        " ".join(wanted),
    )


# --- the build -------------------------------------------------------------------------------


@contextlib.contextmanager
def locked(lock_path: Path) -> Iterator[None]:
    """One writer at a time (tests, `make` and the local stack may start builds together)."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def build(
    target: Target,
    out: Path = DEFAULT_OUT,
    source: Path = DEFAULT_SOURCE,
    requirements: Path = DEFAULT_REQUIREMENTS,
    cache_dir: Path | None = None,
    *,
    bytecode: bool = False,
    content_addressed: bool = False,
) -> dict[str, object]:
    """Build the package; return the manifest (with `package_dir`).

    By default into out/package, with the manifest in out/package.json (`make build`);
    content_addressed: into out/packages/<sha256 prefix>/, never rewritten once there, so a
    plan's archive_file reads the very tree this build returned even if another build runs.
    """
    started = time.monotonic()
    if not source.is_dir() or not any(source.rglob("*.py")):
        raise BuildError(f"no function code: {source} holds no .py files")
    compiler = bytecode_compiler(target) if bytecode else None
    with locked(out / ".build.lock"):
        deps = vendored_deps(requirements, target, cache_dir or out, compiler)
        with tempfile.TemporaryDirectory(prefix=".package-", dir=out) as tmp:
            staging = Path(tmp, "package")
            shutil.copytree(deps, staging, copy_function=shutil.copyfile)
            count = copy_sources(source, staging)
            if compiler is not None:
                ours = staging / source.name
                compiler.compile(ours, f"{TASK_ROOT}/{source.name}", sourceless=False)
                compiler.check(staging, target)
            normalise(staging)
            tag = check_vendored(staging, target, requirements)
            digest, files, size = tree_digest(staging)
            package = out / "packages" / digest[:16] if content_addressed else out / "package"
            if package.is_dir() and tree_digest(package)[0] == digest:
                log(f"{package} unchanged ({count} source files)")
            else:
                package.parent.mkdir(parents=True, exist_ok=True)
                if package.exists():
                    package.rename(Path(tmp, "previous"))
                staging.rename(package)
                log(f"{package} written ({count} source files)")
        manifest: dict[str, object] = {
            "runtime": target.runtime,
            "architecture": target.architecture,
            "python_version": target.python_version,
            "platform_tag": tag,
            "bytecode": bytecode,
            "bytecode_python": compiler.version if compiler else None,
            "files": files,
            "bytes": size,
            "sha256": digest,
            "dependencies": installed_distributions(package),
        }
        if not content_addressed:
            (out / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    log(
        f"{files} files, {size / 1e6:.2f} MB, sha256 {digest[:12]}, {tag}"
        f"{', bytecode ' + compiler.version if compiler else ''} "
        f"in {time.monotonic() - started:.1f}s"
    )
    return {**manifest, "package_dir": str(package)}


# --- Terraform's external data source --------------------------------------------------------


def parse_query(query: object) -> tuple[Target, bool]:
    """The target and bytecode setting from package.tf's query (every value a string)."""
    if not isinstance(query, dict) or set(query) != set(QUERY):
        raise BuildError(f"expected a query with exactly {sorted(QUERY)}, got {query!r}")
    if query["bytecode"] not in ("true", "false"):
        raise BuildError(f'bytecode must be "true" or "false", got {query["bytecode"]!r}')
    return target_for(query["runtime"], query["architecture"]), query["bytecode"] == "true"


def external_result(manifest: dict[str, object]) -> dict[str, str]:
    """What the data source returns: flat strings (the protocol allows nothing else)."""
    keys = ("package_dir", "sha256", "runtime", "architecture", "python_version", "platform_tag")
    result = {key: str(manifest[key]) for key in keys}
    result["bytecode"] = "true" if manifest["bytecode"] else "false"
    result["files"] = str(manifest["files"])
    result["bytes"] = str(manifest["bytes"])
    return result


def external(out: Path = DEFAULT_OUT) -> int:
    """Terraform's external program protocol: the query as JSON on stdin, the result as JSON on
    stdout, progress on stderr; on failure a message on stderr and exit 1 (Terraform shows it)."""
    try:
        target, bytecode = parse_query(json.load(sys.stdin))
        manifest = build(target, out, bytecode=bytecode, content_addressed=True)
    except (BuildError, json.JSONDecodeError) as error:
        print(f"tools/build.py: {error}", file=sys.stderr)
        return 1
    json.dump(external_result(manifest), sys.stdout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", default="python3.13", help="Lambda runtime, e.g. python3.13")
    parser.add_argument("--architecture", default="x86_64", help="x86_64 or arm64")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="function code")
    parser.add_argument("--requirements", type=Path, default=DEFAULT_REQUIREMENTS)
    parser.add_argument(
        "--cache-dir", type=Path, help="where .deps-<key>/ are kept (default: --out)"
    )
    parser.add_argument(
        "--bytecode",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="compile the package's bytecode with the function's Python (lambda_bytecode)",
    )
    parser.add_argument("--zip", type=Path, help="also write the package as a zip here")
    parser.add_argument(
        "--external",
        action="store_true",
        help='Terraform\'s data "external" protocol: the query on stdin, the result on stdout',
    )
    parser.add_argument(
        "--runtime-deps",
        type=Path,
        metavar="DIR",
        help="also install the runtime's boto3/botocore for the function's Python into DIR",
    )
    args = parser.parse_args(argv)
    if args.external:
        return external(args.out)
    try:
        target = target_for(args.runtime, args.architecture)
        build(
            target,
            args.out,
            args.source,
            args.requirements,
            args.cache_dir,
            bytecode=args.bytecode,
        )
        if args.zip:
            write_zip(args.out / "package", args.zip)
            log(f"{args.zip} written ({args.zip.stat().st_size / 1e6:.2f} MB)")
        if args.runtime_deps:
            install_runtime_deps(target.python_version, args.runtime_deps)
    except BuildError as error:
        print(f"build: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
