"""bench.crawl's table of methods and its CPU figures (the benchmark itself runs in bench/, not here)."""

from __future__ import annotations

from pathlib import Path

from bench.crawl import SHARED_WORKERS, _worker_command, format_cpu, methods, shared_method_name


def _table(tmp_path: Path, redis: bool) -> dict:
    return methods(["http://a.onion/"], tmp_path / "urls.txt", "127.0.0.1:9050", "http://127.0.0.1:8118", 4,
                   tmp_path, {}, redis_url=(lambda: "redis://127.0.0.1:1/0") if redis else None)


def test_the_shared_frontier_methods_are_one_entry_per_worker_count(tmp_path: Path) -> None:
    shared = [shared_method_name(workers) for workers in SHARED_WORKERS]
    assert shared == ["shared crawl, 1 worker", "shared crawl, 2 workers", "shared crawl, 4 workers"]
    with_redis = _table(tmp_path, redis=True)
    assert set(shared) <= set(with_redis)
    assert {"limit (curl)", "onionscope fetch", "onionscope crawl", "privoxy crawl"} <= set(with_redis)
    assert not set(shared) & set(_table(tmp_path, redis=False))


def test_a_shared_worker_joins_its_job_by_name(tmp_path: Path) -> None:
    command = _worker_command("onionscope", "crawl", tmp_path / "urls.txt", 8, tmp_path / "out.json",
                              tmp_path / "progress", shared="bench-shared-2-ab12")
    assert command[command.index("--shared") + 1] == "bench-shared-2-ab12"
    assert "--shared" not in _worker_command("onionscope", "crawl", tmp_path / "urls.txt", 8,
                                             tmp_path / "out.json", tmp_path / "progress")


def test_cpu_figures_are_per_page_and_bound_the_rate(tmp_path: Path) -> None:
    run = {"pages": 100, "cpu": {"client": 2.0, "tor": 1.0, "demo server": 0.5, "services": 0.0,
                                 "elasticsearch": 1.5, "machine": 9.0},
           "extraction_cpu_seconds": 1.0, "reactor_cpu_seconds": 0.6, "other_threads_cpu_seconds": 0.4}
    line = format_cpu(run)
    assert "client 20.0" in line and "tor 10.0" in line and "elasticsearch 15.0" in line
    assert "extraction workers 10.0" in line and "reactor thread 6.0" in line
    assert "ours 50.0" in line and "whole machine 90.0" in line
    assert format_cpu({"pages": 5}) == ""
