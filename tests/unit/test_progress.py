"""onionscope.progress: the crawl's progress line shows pages, items, errors, rate and elapsed time."""

from __future__ import annotations

import io
import re

from onionscope.progress import CrawlProgress, progress_figures


class Stats:
    def __init__(self) -> None:
        self.values: dict = {}

    def get_stats(self) -> dict:
        return self.values


def test_figures_from_the_crawl_stats() -> None:
    stats = {"onionscope/pages": 7, "extract/listings/nebula-market": 4, "extract/vendors/nebula-market": 2,
             "extract/pages/profile": 7, "tor/socks_error/host_unreachable": 2,
             "downloader/response_status_count/404": 1}
    assert progress_figures(stats) == {"pages": 7, "items": 6, "errors": 3}


def test_the_line_is_redrawn_with_the_latest_figures() -> None:
    stats, stream = Stats(), io.StringIO()
    progress = CrawlProgress(stats, stream)
    progress.start()
    stats.values.update({"onionscope/pages": 3, "extract/listings/x": 1})
    progress.update()
    stats.values.update({"onionscope/pages": 12, "extract/listings/x": 5, "tor/socks_error/ttl_expired": 2})
    progress.close()
    lines = [line for line in re.split(r"[\r\n]", stream.getvalue()) if line.strip()]
    assert re.fullmatch(r"crawl: 12 pages \[00:0\d, [\d.?]+ pages/s\] ?,? ?items=5 errors=2\s*", lines[-1]), lines[-1]
    assert any("crawl: 3 pages" in line and "items=1 errors=0" in line for line in lines)
