"""How many extraction worker processes a crawl starts (crawler.extractors.budget.extraction_worker_count)."""

from __future__ import annotations

import os

import pytest

from config.settings import DEFAULTS, load_settings
from crawler.extractors.budget import MAX_DEFAULT_WORKERS, BudgetedExtractor, extraction_worker_count


def test_zero_means_one_worker_per_cpu_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    for cpus, expected in ((1, 1), (2, 2), (3, 3), (16, MAX_DEFAULT_WORKERS)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, cpus=cpus: set(range(cpus)))
        assert extraction_worker_count(0) == expected


def test_a_positive_setting_is_taken_as_it_is() -> None:
    assert [extraction_worker_count(n) for n in (1, 2, 7)] == [1, 2, 7]


def test_a_negative_count_and_an_empty_pool_are_refused() -> None:
    with pytest.raises(ValueError, match="extraction_workers"):
        extraction_worker_count(-1)
    with pytest.raises(ValueError, match="at least one worker"):
        BudgetedExtractor(1.0, None, workers=0)


def test_the_setting_defaults_to_one_per_cpu_and_reads_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DEFAULTS["extraction_workers"].default == 0
    monkeypatch.setenv("ONIONSCOPE_EXTRACTION_WORKERS", "3")
    assert load_settings().extraction_workers == 3


def test_a_pool_whose_idle_worker_was_killed_extracts_again() -> None:
    """pebble gives the whole pool up when an idle worker dies (the OOM killer, say); the next page gets a new one.

    The first page after the kill may fail (pebble aborts what was queued); a
    later page is extracted in full instead of failing for the rest of the crawl.
    """
    import multiprocessing
    import signal

    from crawler.extractors.document import ExtractedDocument

    extractor = BudgetedExtractor(120.0, None, workers=1)
    try:
        assert extractor.start().result(timeout=300) is True
        workers = multiprocessing.active_children()
        assert workers
        for worker in workers:
            os.kill(worker.pid, signal.SIGKILL)
        for worker in workers:
            worker.join(timeout=30)
        outcomes: list[object] = []
        for _ in range(3):
            try:
                outcomes.append(extractor.extract(b"<html><title>Back</title><p>again</p></html>",
                                                  "http://" + "b" * 56 + ".onion/x", fetched_at="2026-12-06T00:00:00Z",
                                                  job_id="job").result(timeout=300))
                break
            except Exception as error:  # the pages queued when pebble noticed the death
                outcomes.append(error)
        document = outcomes[-1]
        assert isinstance(document, ExtractedDocument), outcomes
        assert document.page.title == "Back"
        assert len(outcomes) <= 2
    finally:
        extractor.close()


def test_a_worker_start_imports_no_scrapy_twisted_or_tor_transport() -> None:
    """What the spider hands a worker (its loaders, pickled) unpickles without the spider's module."""
    import functools
    import pickle
    import subprocess
    import sys

    from config.paths import markets_dir
    from crawler.spiders.onion import load_bound_profiles, load_reference_tables

    handed = pickle.dumps((functools.partial(load_bound_profiles, str(markets_dir()), ()),
                           functools.partial(load_reference_tables, None)))
    script = (
        "import pickle, sys\n"
        "load_profiles, load_tables = pickle.loads(sys.stdin.buffer.read())\n"
        "from crawler.extractors import budget\n"
        "budget._start_worker(load_profiles, load_tables)\n"
        "assert budget._profiles is not None and set(budget._tables) == {'lexicon', 'countries'}\n"
        "print(sorted(name for name in ('scrapy', 'twisted', 'crawler.spiders.onion', 'crawler.tor.download_handler')"
        " if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], input=handed, capture_output=True, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-2000:]
    assert result.stdout.decode().strip() == "[]"
