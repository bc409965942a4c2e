"""`python -m tools.bench [--rounds 30] [--iterations 5000] [--skip-local] [--no-page]`."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tools import build
from tools.bench import cold
from tools.bench.report import (
    PAGE,
    Report,
    passed,
    progress,
    render_markdown,
    render_text,
    write_page,
)

REPO = build.ROOT
ZIP_TARGET_BYTES = 3 * 1024 * 1024
WARM_P50_TARGET_US = 150.0


def section(report: Report, name: str, step: Callable[[], None]) -> None:
    """Run one measure; a failure becomes an error row and the bench carries on."""
    progress(name)
    started = time.monotonic()
    try:
        step()
    except Exception as error:
        lines = str(error).strip().splitlines()
        reason = lines[-1] if lines else ""
        report.add(name, f"not measured: {type(error).__name__}: {reason}"[:200], "", "error")
        report.figures.setdefault("errors", {})[name] = f"{type(error).__name__}: {error}"
    report.figures.setdefault("seconds", {})[name] = round(time.monotonic() - started, 1)


def child_json(python: str, module: str, *args: str, pythonpath: list[Path]) -> Any:
    """Run `python -m module args` from the repository; the JSON its last line prints."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env["PYTHONPATH"] = os.pathsep.join(str(path) for path in pythonpath)
    result = subprocess.run(
        [python, "-m", module, *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError("\n".join(result.stderr.strip().splitlines()[-8:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


def cold_rows(report: Report, packages: cold.Packages, rounds: int) -> None:
    with cold.stub_dynamodb() as endpoint:
        figures = cold.measure(packages, endpoint, rounds)
    report.figures["cold_start"] = figures
    cpu, ratio = figures["cpu_ms"], figures["ratio"]
    floor = f"{cpu['floor']:.0f} ms"
    report.add(
        f"cold start, read first (GET /users?id=), bytecode, vs floor ({rounds} rounds, CPU)",
        f"{cpu['read']:.0f} ms vs {floor} = {ratio['read']:.2f}x",
        f"<= {cold.READ_TARGET:.2f}x",
        passed(ratio["read"] <= cold.READ_TARGET),
    )
    report.add(
        "cold start, write first (POST /users: builds the models), bytecode, vs floor",
        f"{cpu['write']:.0f} ms vs {floor} = {ratio['write']:.2f}x",
        f"<= {cold.WRITE_TARGET:.2f}x",
        passed(ratio["write"] <= cold.WRITE_TARGET),
    )
    report.add(
        "  the package without bytecode (lambda_bytecode = false): read first / write first",
        f"{cpu['read_source']:.0f} ms = {ratio['read_source']:.2f}x / "
        f"{cpu['write_source']:.0f} ms = {ratio['write_source']:.2f}x",
    )


def warm_rows(report: Report, packages: cold.Packages, iterations: int, warmup: int) -> None:
    path = [packages.bytecode, packages.sdk, REPO]
    warm = child_json(
        packages.python, "tools.bench.warm", str(iterations), str(warmup), pythonpath=path
    )
    report.figures["warm"] = warm
    for name, route in warm["routes"].items():
        report.add(
            f"warm overhead: {name} (p50 / p99, {iterations} requests)",
            f"{route['p50_us']:.0f} / {route['p99_us']:.0f} us",
            f"p50 <= {WARM_P50_TARGET_US:.0f} us",
            passed(route["p50_us"] <= WARM_P50_TARGET_US),
        )


def trip_rows(report: Report) -> None:
    trips = child_json(sys.executable, "tools.bench.trips", pythonpath=[REPO / "lambda", REPO])
    report.figures["round_trips"] = trips
    for trip in trips:
        target = str(trip["minimum"]) + (f" ({trip['why']})" if trip["why"] else "")
        if trip["status"] >= 300:
            report.add(f"round trips: {trip['case']}", f"answered {trip['status']}", target, "FAIL")
            continue
        report.add(
            f"round trips: {trip['case']}",
            f"{trip['round_trips']} ({'+'.join(trip['operations']) or 'none'})",
            target,
            passed(trip["round_trips"] <= trip["minimum"]),
        )


def zipped_size(package: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        zip_path = Path(tmp, "lambda.zip")
        build.write_zip(package, zip_path)
        return zip_path.stat().st_size


def package_rows(report: Report, packages: cold.Packages) -> None:
    sizes = {name: zipped_size(getattr(packages, name)) for name in ("bytecode", "source")}
    report.figures["package_zipped_bytes"] = sizes
    for name, label in (("bytecode", "with bytecode"), ("source", "without bytecode")):
        report.add(
            f"package size zipped, {label}",
            f"{sizes[name] / 2**20:.2f} MB",
            f"<= {ZIP_TARGET_BYTES / 2**20:.0f} MB",
            passed(sizes[name] <= ZIP_TARGET_BYTES),
        )


def local_rows(report: Report, seconds: float, concurrency: int) -> None:
    from tools.bench.load import measure_local

    local = measure_local(seconds, concurrency)
    report.figures["local"] = local
    if not local["requests"]:
        raise RuntimeError(f"no request was answered: {local['first_errors']}")
    report.add(
        f"make local front: mixed load, c={concurrency}, {local['seconds']:.0f} s",
        f"{local['requests_per_s']:.0f} req/s, p50 {local['p50_ms']:.0f} ms, "
        f"p99 {local['p99_ms']:.0f} ms ({local['requests']} requests, "
        f"{local['requests'] - local['ok']} non-2xx, {local['errors']} errors)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__)
    parser.add_argument("--runtime", default="python3.13", help="the function's Lambda runtime")
    parser.add_argument("--architecture", default="x86_64")
    parser.add_argument("--rounds", type=int, default=30, help="cold-start rounds (every kind)")
    parser.add_argument("--iterations", type=int, default=5000, help="warm requests per route")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--load-seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-local", action="store_true", help="no make-local throughput run")
    parser.add_argument("--json", type=Path, default=REPO / "bench.json")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown here")
    parser.add_argument(
        "--page", type=Path, default=PAGE, help="the page whose bench markers get the figures"
    )
    parser.add_argument("--no-page", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args(argv)

    started = time.monotonic()
    load_start = os.getloadavg()[0]
    target = build.target_for(args.runtime, args.architecture)
    try:
        packages = cold.prepare(target)
    except build.BuildError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    machine = f"{os.cpu_count()} CPUs {platform.machine()}, function on Python {packages.version}"
    report = Report(datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), machine)
    report.notes.append(
        "cold start: DynamoDB answered by a canned-response HTTP stub on loopback; "
        "warm: the store's client replaced by an in-process fake"
    )
    section(report, "cold start", lambda: cold_rows(report, packages, args.rounds))
    section(
        report, "warm overhead", lambda: warm_rows(report, packages, args.iterations, args.warmup)
    )
    section(report, "round trips", lambda: trip_rows(report))
    section(report, "package size", lambda: package_rows(report, packages))
    if args.skip_local:
        report.add("make local front", "skipped (--skip-local)")
    else:
        section(
            report,
            "make local throughput",
            lambda: local_rows(report, args.load_seconds, args.concurrency),
        )
    report.figures["elapsed_s"] = round(time.monotonic() - started, 1)
    report.notes.append(
        f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(other work on this machine shows in wall-clock figures)"
    )
    document = {
        "date": report.started,
        "machine": report.machine,
        "rows": [asdict(row) for row in report.rows],
        "notes": report.notes,
        **report.figures,
    }
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    if args.markdown:
        args.markdown.write_text(render_markdown(report))
    if not args.no_page:
        write_page(report, args.page)
    print(render_text(report))
    where = args.json.name if args.no_page else f"{args.json.name} and {args.page.name}"
    print(f"(figures in {where}; {report.figures['elapsed_s']:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
