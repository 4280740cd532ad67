"""Benchmark: coverage-guided fuzzing (atheris, libFuzzer) of the parsers that read what others wrote.

Run as ``.venv/bin/python -m bench.fuzz [--runs N] [--timeout S] [TARGET ...]``.

Targets: ``query`` (parser and compiler), ``settings`` (a settings file),
``profile`` (a market profile file), ``socks`` (the SOCKS5 reply parsers),
``pgp`` (binary packets and armored text) and ``document``
(extract_document).  Each runs in a child process of its own for ``--runs``
inputs (libFuzzer's ``-runs``), with libFuzzer's per-input ``-timeout``: an
input that takes longer counts as a hang and fails the target, as an
exception other than the target's documented ones does.  For each target it
prints the inputs run, the seconds, inputs per second, the coverage libFuzzer
reached (``cov``: edges; ``ft``: features) and the outcome; a failing
input is saved as ``crash-*`` / ``timeout-*`` in ``--artifacts`` (default
var/fuzz).  tests/unit/test_fuzzing.py runs every target for a few hundred
inputs; hypothesis covers the same targets there with shaped inputs.

``python -m bench.fuzz --child TARGET [libFuzzer flags]`` is the child.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TARGETS = ("query", "settings", "profile", "socks", "pgp", "document")


def _target(name: str) -> Callable[[bytes], None]:
    """The function libFuzzer calls with each input; imports (instrumented) happen here."""
    import atheris

    with atheris.instrument_imports(include=["search", "config", "crawler"]):
        if name == "query":
            from search.query import KINDS, QueryError, build_query, parse

            kinds = sorted(KINDS)

            def run(data: bytes) -> None:
                provider = atheris.FuzzedDataProvider(data)
                kind = kinds[provider.ConsumeIntInRange(0, len(kinds) - 1)]
                try:
                    build_query(parse(provider.ConsumeUnicodeNoSurrogates(2100)), kind)
                except QueryError:
                    pass

        elif name in ("settings", "profile"):
            from config.settings import ConfigError, load_settings
            from crawler.extractors.market_profiles import MarketProfiles, ProfileError

            folder = Path(tempfile.mkdtemp(prefix="onionscope-fuzz-"))
            path = folder / "input.yml"

            def run(data: bytes) -> None:
                path.write_bytes(data)
                try:
                    if name == "settings":
                        load_settings(path, environ={})
                    else:
                        MarketProfiles.from_files([path])
                except (ConfigError, ProfileError):
                    pass

        elif name == "socks":
            from crawler.tor.errors import SocksProtocolError
            from crawler.tor.socks5 import parse_auth_reply, parse_connect_reply, parse_method_reply

            def run(data: bytes) -> None:
                for parser in (parse_method_reply, parse_auth_reply, parse_connect_reply):
                    try:
                        parser(data)
                    except SocksProtocolError:
                        pass

        elif name == "pgp":
            from crawler.extractors.pgp import PgpParseError, find_pgp_keys, parse_packets

            def run(data: bytes) -> None:
                try:
                    parse_packets(data)
                except PgpParseError:
                    pass
                find_pgp_keys(data.decode("latin-1"))

        elif name == "document":
            from crawler.extractors.document import extract_document

            url = "http://" + "a" * 56 + ".onion/item/1"

            def run(data: bytes) -> None:
                extract_document(data, url, "2026-01-01T00:00:00Z", "fuzz")

        else:
            raise SystemExit(f"unknown target {name!r}; choose from {', '.join(TARGETS)}")
    return run


def _seeds(name: str) -> list[bytes]:
    """The starting corpus of a target: real inputs for libFuzzer to mutate."""
    if name == "query":
        return [b"\x00fentanyl \"next day\" market:alpha coin:xmr -escrow",
                b"\x01(mdma OR molly) AND NOT country:nl date:2026-01-01..2026-02-01",
                b"\x02pgp:0xDEADBEEFCAFEBABE vendor:\"Dr Green\" after:2026-03-01"]
    if name == "settings":
        return [b"crawl_depth: 2\nes_url: http://127.0.0.1:9200\ntrusted_proxies: [10.0.0.1]\n"
                b"market_hosts: {alpha: [" + b"a" * 56 + b".onion]}\n"]
    if name == "profile":
        return [path.read_bytes() for path in sorted((PROJECT_ROOT / "config" / "markets").glob("*.yml"))]
    if name == "socks":
        return [b"\x05\x02", b"\x01\x00", b"\x05\x00\x00\x01" + bytes(6), b"\x05\x00\x00\x03\x05hello\x00P"]
    if name == "pgp":
        import json

        vectors = json.loads((PROJECT_ROOT / "tests" / "unit" / "vectors" / "pgp.json").read_text())
        found: list[bytes] = []

        def strings(node: Any) -> None:
            if isinstance(node, str) and "BEGIN PGP" in node:
                found.append(node.encode())
            elif isinstance(node, dict):
                for value in node.values():
                    strings(value)
            elif isinstance(node, list):
                for value in node:
                    strings(value)

        strings(vectors)
        return found
    if name == "document":
        pages = sorted((PROJECT_ROOT / "tests" / "data" / "real" / "pages").rglob("*.html"))
        return [path.read_bytes()[:4096] for path in pages[:20]]
    return []


def child(name: str, libfuzzer_args: list[str]) -> None:
    """Fuzz one target in this process (libFuzzer ends the process when it is done)."""
    import atheris

    target = _target(name)
    # Warm up first: lazy loads (the language model of extract_document) must not count as a hang.
    target(b"<html><title>warm up</title><body>fentanyl 0.1 BTC</body></html>")
    atheris.Setup([sys.argv[0], *libfuzzer_args], target)
    atheris.Fuzz()


_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_COVERAGE = re.compile(r"cov: (\d+) ft: (\d+)")


def fuzz(name: str, runs: int, timeout: float, artifacts: Path, max_len: int = 4096) -> dict[str, Any]:
    """Run ``name`` for ``runs`` inputs in a child process; returns its figures and outcome."""
    artifacts.mkdir(parents=True, exist_ok=True)
    corpus = Path(tempfile.mkdtemp(prefix=f"onionscope-fuzz-{name}-"))
    for number, seed in enumerate(_seeds(name)):
        (corpus / f"seed-{number}").write_bytes(seed)
    started = time.monotonic()
    process = subprocess.run(
        [sys.executable, "-m", "bench.fuzz", "--child", name, f"-runs={runs}", f"-timeout={max(1, int(timeout))}",
         f"-max_len={max_len}", "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/{name}-", "-seed=1",
         "-print_final_stats=1", str(corpus)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, errors="replace",
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    seconds = time.monotonic() - started
    log = process.stderr
    done = _DONE.search(log)
    coverage = _COVERAGE.findall(log)
    return {
        "target": name,
        "ok": process.returncode == 0 and done is not None,
        "runs": int(done.group(1)) if done else None,
        "seconds": round(seconds, 1),
        "per_second": round(int(done.group(1)) / seconds) if done and seconds else None,
        "cov": int(coverage[-1][0]) if coverage else None,
        "ft": int(coverage[-1][1]) if coverage else None,
        "log_tail": "\n".join(log.splitlines()[-25:]),
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help=f"which to fuzz (default: all of {', '.join(TARGETS)})")
    parser.add_argument("--runs", type=int, default=20_000, help="inputs per target (default 20000)")
    parser.add_argument("--timeout", type=float, default=5, help="seconds one input may take (default 5)")
    parser.add_argument("--artifacts", type=Path, default=PROJECT_ROOT / "var" / "fuzz",
                        help="where failing inputs are saved (default var/fuzz)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.targets if name not in TARGETS]
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; choose from {', '.join(TARGETS)}")
    failed = []
    print(f"{'target':<10} {'runs':>8} {'seconds':>8} {'per s':>7} {'cov':>6} {'ft':>7}  outcome")
    for name in args.targets or TARGETS:
        result = fuzz(name, args.runs, args.timeout, args.artifacts)
        outcome = "ok" if result["ok"] else "FAILED"
        print(f"{name:<10} {result['runs'] or '-':>8} {result['seconds']:>8} {result['per_second'] or '-':>7} "
              f"{result['cov'] or '-':>6} {result['ft'] or '-':>7}  {outcome}", flush=True)
        if not result["ok"]:
            failed.append(name)
            print(result["log_tail"], file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
