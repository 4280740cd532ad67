"""One search logic, two clients: Elasticsearch requests as data, run by a sync or an async driver.

The search side is used from the CLI and exports (the blocking
``elasticsearch.Elasticsearch``) and from the API (``AsyncElasticsearch`` on
the server's event loop, so a request never waits for a thread hand-off).
Rather than write each search twice, a search is a generator that yields
request objects and receives their answers; :func:`run` and :func:`run_async`
carry the requests out and return what the generator returns.

Requests (frozen dataclasses):

* :class:`Get` (index, id, source_excludes) -> the document's answer body,
  or None when the document or the index does not exist;
* :class:`Search` (index, body, lenient=True) -> the answer body; with
  ``lenient`` a missing alias answers empty rather than raising NotFoundError;
* :class:`Count` (index) -> the number of documents (0 for a missing alias);
* :class:`Msearch` (searches) -> the list of answers, one per (index, body);
  a missing alias answers empty, any other failed search raises
  ``elasticsearch.ApiError``.

:func:`msearch_lines` (request) gives an :class:`Msearch` as the header and
body lines of ``_msearch``.

Both drivers apply the blocklist (:mod:`search.blocklist`) to every request they send,
before it leaves: each query over pages, listings, vendors, wallets or onions gets the
blocklist's ``must_not`` clauses, and a document fetched by id that the blocklist names
answers as missing.  Searches written as steps need no blocklist code of their own.

Elasticsearch errors other than "not found" propagate unchanged from both
drivers (the API maps them to 503/502).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator, Union

from config.blocklist import Blocklist
from search.blocklist import blocklist_of, filtered_body, visible


@dataclass(frozen=True)
class Get:
    index: str
    id: str
    source_excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Search:
    index: str
    body: dict[str, Any]
    lenient: bool = True


@dataclass(frozen=True)
class Count:
    index: str


@dataclass(frozen=True)
class Msearch:
    searches: tuple[tuple[str, dict[str, Any]], ...]


Request = Union[Get, Search, Count, Msearch]
Steps = Generator[Request, Any, Any]
LENIENT = {"ignore_unavailable": True, "allow_no_indices": True}


def _body(response: Any) -> Any:
    return response.body if hasattr(response, "body") else response


def _get_arguments(request: Get) -> dict[str, Any]:
    arguments: dict[str, Any] = {"index": request.index, "id": request.id}
    if request.source_excludes:
        arguments["source_excludes"] = list(request.source_excludes)
    return arguments


def msearch_lines(request: Msearch) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for index, body in request.searches:
        lines.append({"index": index, **LENIENT})
        lines.append(body)
    return lines


def _msearch_answers(response: Any) -> list[dict[str, Any]]:
    from elasticsearch import ApiError

    answers = _body(response)["responses"]
    for answer in answers:
        if "error" in answer:
            error = answer["error"]
            kind = error.get("type", "") if isinstance(error, dict) else str(error)
            raise ApiError(f"a search in a multi-search failed: {kind}", meta=response.meta, body={"error": error})
    return answers


def _blocklisted(client: Any, request: Request) -> tuple[Request, Blocklist]:
    """``request`` with the blocklist's filter in every query, and the blocklist (:mod:`search.blocklist`)."""
    blocklist = blocklist_of(client)
    if not blocklist:
        return request, blocklist
    if isinstance(request, Search):
        request = Search(request.index, filtered_body(request.index, request.body, blocklist), request.lenient)
    elif isinstance(request, Msearch):
        request = Msearch(tuple((index, filtered_body(index, body, blocklist)) for index, body in request.searches))
    return request, blocklist


def _count_arguments(request: Count, blocklist: Blocklist) -> dict[str, Any]:
    query = filtered_body(request.index, {}, blocklist).get("query")
    return {"index": request.index, **LENIENT, **({"query": query} if query else {})}


def _perform(client: Any, request: Request) -> Any:
    from elasticsearch import NotFoundError

    request, blocklist = _blocklisted(client, request)
    if isinstance(request, Get):
        try:
            return visible(request.index, _body(client.get(**_get_arguments(request))), blocklist)
        except NotFoundError:
            return None
    if isinstance(request, Search):
        return _body(client.search(index=request.index, body=request.body, **(LENIENT if request.lenient else {})))
    if isinstance(request, Count):
        return int(_body(client.count(**_count_arguments(request, blocklist))).get("count", 0))
    if isinstance(request, Msearch):
        return _msearch_answers(client.msearch(searches=msearch_lines(request)))
    raise TypeError(f"not an Elasticsearch request: {request!r}")


async def _perform_async(client: Any, request: Request) -> Any:
    from elasticsearch import NotFoundError

    request, blocklist = _blocklisted(client, request)
    if isinstance(request, Get):
        try:
            return visible(request.index, _body(await client.get(**_get_arguments(request))), blocklist)
        except NotFoundError:
            return None
    if isinstance(request, Search):
        return _body(await client.search(index=request.index, body=request.body,
                                         **(LENIENT if request.lenient else {})))
    if isinstance(request, Count):
        return int(_body(await client.count(**_count_arguments(request, blocklist))).get("count", 0))
    if isinstance(request, Msearch):
        return _msearch_answers(await client.msearch(searches=msearch_lines(request)))
    raise TypeError(f"not an Elasticsearch request: {request!r}")


def run(client: Any, steps: Steps) -> Any:
    """Carry out ``steps`` with a blocking client; returns the generator's result."""
    try:
        request = next(steps)
        while True:
            request = steps.send(_perform(client, request))
    except StopIteration as finished:
        return finished.value


async def run_async(client: Any, steps: Steps) -> Any:
    """Carry out ``steps`` with an ``AsyncElasticsearch``; returns the generator's result."""
    try:
        request = next(steps)
        while True:
            request = steps.send(await _perform_async(client, request))
    except StopIteration as finished:
        return finished.value
