"""The resume point of an interrupted job, and the fetch journal it is read from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crawler.job import FetchJournal, journal_path, read_journal
from pipelines.job_resume import resume_point

HOST = "a" * 56 + ".onion"


class PagesOfAJob:
    """Answers the page searches of :func:`pipelines.job_resume.indexed_pages` from a list (no cluster)."""

    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages
        self.indices = self
        self.queries: list[dict[str, Any]] = []

    def exists(self, index: str) -> bool:
        return True

    def search(self, **request: Any) -> dict[str, Any]:
        self.queries.append(request)
        return {"hits": {"hits": [{"_source": page, "sort": [page["canonical_url"]]} for page in self.pages]}}


def url(path: str) -> str:
    return f"http://{HOST}{path}"


def test_the_frontier_is_what_indexed_pages_link_to_and_is_not_indexed_at_the_shallowest_depth() -> None:
    client = PagesOfAJob([
        {"canonical_url": url("/"), "depth": 0, "links": [url("/a"), url("/b"), url("/c.jpg"), "http://example.com/"]},
        {"canonical_url": url("/a"), "depth": 1, "links": [url("/"), url("/b"), url("/deep")]},
        {"canonical_url": url("/deep-end"), "depth": 3, "links": [url("/too-deep")]},
    ])
    point = resume_point(client, "p", "job-1", [url("/"), url("/other-seed")], max_depth=3,
                         refusal=lambda link: "clearnet" if "example.com" in link else None,
                         fetched_before=frozenset({url("/b")}))
    assert point.indexed == {url("/"), url("/a"), url("/deep-end")}
    # Seeds not indexed at depth 0; /b found at depth 1 (not 2); media, out of scope and too deep left out.
    assert point.frontier == ((url("/other-seed"), 0), (url("/b"), 1), (url("/deep"), 2))
    assert point.fetched_before == {url("/b")}
    assert client.queries[0]["query"] == {"term": {"job_id": "job-1"}}


def test_without_link_following_only_the_seeds_not_indexed_are_left() -> None:
    client = PagesOfAJob([{"canonical_url": url("/"), "depth": 0, "links": [url("/a")]}])
    point = resume_point(client, "p", "job-1", [url("/"), url("/x")], follow_links=False)
    assert point.frontier == ((url("/x"), 0),)


def test_the_journal_keeps_every_whole_line_and_drops_a_torn_one(tmp_path: Path) -> None:
    journal = FetchJournal(tmp_path, "job/with odd chars")
    journal.append(url("/one"))
    journal.append(url("/two\nthree"))  # a newline in a URL cannot split a line
    journal.close()
    path = journal_path(tmp_path, "job/with odd chars")
    assert path.parent.parent == tmp_path / "jobs" and oct(path.stat().st_mode & 0o777) == "0o600"
    with path.open("ab") as handle:
        handle.write(b"http://torn-by-a-kill")
    assert read_journal(tmp_path, "job/with odd chars") == {url("/one"), url("/two three")}
    assert read_journal(tmp_path, "another-job") == frozenset()
