"""``python -m bench``: run every benchmark in turn and print their figures.

``python -m bench NAME [args]`` runs one (crawl, identifiers, extraction,
extraction_quality, extraction_real, site_types, adversarial, bulk_indexing, evidence, search, testnet_startup, fuzz).  Each benchmark
is its own module with its own ``--help``; this only runs them in sequence.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = (
    "identifiers", "extraction", "extraction_quality", "extraction_real", "site_types", "adversarial", "bulk_indexing",
    "evidence", "testnet_startup", "crawl", "search", "fuzz",
)


def main(argv: list[str]) -> int:
    if argv and argv[0] in BENCHMARKS:
        return subprocess.call([sys.executable, "-m", f"bench.{argv[0]}", *argv[1:]])
    if argv:
        print(f"unknown benchmark {argv[0]!r}; choose from {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = []
    for name in BENCHMARKS:
        print(f"\n===== bench.{name} =====", flush=True)
        if subprocess.call([sys.executable, "-m", f"bench.{name}"]) != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
