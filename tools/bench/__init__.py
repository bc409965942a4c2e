"""`make bench` (`python -m tools.bench`): the figures docs/performance.md reports.

- cold start (cold.py): the function's package with bytecode (lambda_bytecode = true) serving a
  read first and a write first in a fresh process of the function's Python, against the floor
  "boto3 (precompiled, as the runtime ships it) + pydantic imported from an uncompiled package +
  one DynamoDB client"; the package without bytecode alongside. Targets: read first <= 0.85x,
  write first <= 1.0x of the floor (medians of CPU time).
- warm overhead (warm.py): the handler in-process with the store's client answering at once;
  p50/p99 per route.
- round trips (trips.py): DynamoDB calls per request, counted by tools.roundtrips on mock_aws.
- package size: both packages zipped as archive_file does.
- `make local` throughput (load.py): a mixed load through the local API Gateway (information).

Prints one table (progress on stderr), writes the figures to bench.json and the same table into
docs/performance.md between its bench markers (`--no-page` leaves the page alone), and exits 0
either way: it reports, it does not gate. `python -m tools.bench --help` lists the knobs.
"""
