"""The onion graph: which onion service names which, from the links and the text of its pages.

A directed edge ``A -> B`` means a page of onion ``A`` links to onion ``B``
(``<a href>``) or names it in its text; it comes from the pages'
``onion_mentions`` (:mod:`crawler.extractors.identifiers`), which leave out
the page's own host.  An edge carries ``kinds`` (``link``, ``text`` or both)
and ``pages``: how many of A's pages name B.  A node is an onion host; it is
``crawled`` when the index holds pages of it (the others were only named).

Public API:

* :class:`OnionGraph` -- ``nodes`` ({host: {crawled, pages}}), ``edges``
  ({(source, target): {kinds, pages}}), ``truncated`` (the page cap was hit);
* :func:`graph_steps` (prefix, blocked_hosts=(), max_pages) -> :class:`OnionGraph`
  -- the whole graph, paging through every page that names an onion;
* :func:`neighbourhood_steps` (prefix, host, blocked_hosts=()) -> dict | None --
  ``{host, incoming: [...], outgoing: [...], truncated}``, each neighbour
  ``{host, kinds, pages, crawled}``; None when the host is neither crawled nor named;
* :func:`to_networkx` (graph) -> ``networkx.DiGraph``;
* :func:`export_graph` (graph, format) -> bytes -- ``gexf`` or ``graphml`` (for
  Gephi), written by networkx; raises ValueError for another format;
* :data:`GRAPH_FORMATS` -- ``{"gexf": media type, "graphml": media type}``.

The steps run with :mod:`search.es_steps` (so the blocklist hides the pages
of blocked hosts); hosts a page names that the blocklist blocks are left out by
the ``blocked_hosts`` given, so a blocked service is neither a node nor an edge.
Elasticsearch errors propagate.  Cost: one search per :data:`PAGE_BATCH` pages
that name an onion, all edges held in memory (a few hundred bytes each).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Iterable

from config.schema import alias_name, onion_host_from_input
from search.es_steps import Search, Steps

PAGE_BATCH = 1000
MAX_GRAPH_PAGES = 500_000
NEIGHBOURHOOD_PAGES = 2000  # pages read per direction for one host's neighbourhood
GRAPH_FORMATS = {"gexf": "application/gexf+xml", "graphml": "application/graphml+xml"}
_SOURCE = ["onion_host", "onion_mentions.host", "onion_mentions.where"]


@dataclass
class OnionGraph:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    truncated: bool = False

    def add_page(self, page: dict[str, Any], blocked: frozenset[str], only: str | None = None) -> None:
        """Count one page's mentions; with ``only``, just the edges that touch that host."""
        source = str(page.get("onion_host") or "")
        if not source or source in blocked:
            return
        node = self.nodes.setdefault(source, {"crawled": True, "pages": 0})
        node["crawled"] = True
        node["pages"] += 1
        named: dict[str, set[str]] = {}
        for mention in page.get("onion_mentions") or []:
            if not isinstance(mention, dict):
                continue
            target = str(mention.get("host") or "")
            if not target or target == source or target in blocked:
                continue
            named.setdefault(target, set()).add("link" if mention.get("where") == "link" else "text")
        for target, kinds in named.items():
            if only is not None and only not in (source, target):
                continue
            self.nodes.setdefault(target, {"crawled": False, "pages": 0})
            edge = self.edges.setdefault((source, target), {"kinds": set(), "pages": 0})
            edge["kinds"] |= kinds
            edge["pages"] += 1


def _paged_pages(prefix: str, query: dict[str, Any], limit: int) -> Steps:
    """Every page matching ``query`` (onion_host and mentions only), in canonical URL order; (pages, truncated)."""
    pages: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while len(pages) < limit:
        body: dict[str, Any] = {
            "query": query, "size": min(PAGE_BATCH, limit - len(pages)), "_source": {"includes": _SOURCE},
            "sort": [{"canonical_url": {"order": "asc", "unmapped_type": "keyword"}}], "track_total_hits": False,
        }
        if after is not None:
            body["search_after"] = after
        hits = ((yield Search(alias_name(prefix, "pages"), body)).get("hits") or {}).get("hits") or []
        pages.extend(hit.get("_source") or {} for hit in hits)
        if len(hits) < body["size"]:
            return pages, False
        after = hits[-1]["sort"]
    return pages, True


def graph_steps(prefix: str, blocked_hosts: Iterable[str] = (), max_pages: int = MAX_GRAPH_PAGES) -> Steps:
    blocked = frozenset(blocked_hosts)
    graph = OnionGraph()
    # Pages that name no onion still make their host a crawled node: counted by an aggregation.
    crawled = yield Search(alias_name(prefix, "pages"), {
        "size": 0, "aggs": {"hosts": {"terms": {"field": "onion_host", "size": 10000}}},
    })
    for bucket in ((crawled.get("aggregations") or {}).get("hosts") or {}).get("buckets", []):
        if str(bucket["key"]) not in blocked:
            graph.nodes[str(bucket["key"])] = {"crawled": True, "pages": 0}
    pages, graph.truncated = yield from _paged_pages(
        prefix, {"bool": {"filter": [{"exists": {"field": "onion_mentions.host"}}]}}, max_pages)
    for page in pages:
        graph.add_page(page, blocked)
    for bucket in ((crawled.get("aggregations") or {}).get("hosts") or {}).get("buckets", []):
        if str(bucket["key"]) in graph.nodes:
            graph.nodes[str(bucket["key"])]["pages"] = int(bucket["doc_count"])
    return graph


def neighbourhood_steps(prefix: str, host: str, blocked_hosts: Iterable[str] = ()) -> Steps:
    host = onion_host_from_input(host)
    blocked = frozenset(blocked_hosts)
    if host in blocked:
        return None
    graph = OnionGraph()
    own, own_truncated = yield from _paged_pages(
        prefix, {"bool": {"filter": [{"term": {"onion_host": host}}]}}, NEIGHBOURHOOD_PAGES)
    naming, naming_truncated = yield from _paged_pages(
        prefix, {"bool": {"filter": [{"term": {"onion_mentions.host": host}}]}}, NEIGHBOURHOOD_PAGES)
    for page in own:
        graph.add_page(page, blocked, only=host)
    for page in naming:
        graph.add_page(page, blocked, only=host)
    if not own and not naming:
        return None

    others = sorted({other for pair in graph.edges for other in pair} - {host})
    crawled: set[str] = set()
    if others:
        answer = yield Search(alias_name(prefix, "pages"), {
            "size": 0, "query": {"bool": {"filter": [{"terms": {"onion_host": others}}]}},
            "aggs": {"hosts": {"terms": {"field": "onion_host", "size": len(others)}}},
        })
        crawled = {str(bucket["key"]) for bucket in
                   ((answer.get("aggregations") or {}).get("hosts") or {}).get("buckets", [])}

    def neighbour(other: str, edge: dict[str, Any]) -> dict[str, Any]:
        return {"host": other, "kinds": sorted(edge["kinds"]), "pages": edge["pages"], "crawled": other in crawled}

    incoming = [neighbour(source, edge) for (source, target), edge in graph.edges.items() if target == host]
    outgoing = [neighbour(target, edge) for (source, target), edge in graph.edges.items() if source == host]
    order = lambda item: (-item["pages"], item["host"])  # noqa: E731
    return {"host": host, "crawled": bool(own), "page_count": len(own),
            "incoming": sorted(incoming, key=order), "outgoing": sorted(outgoing, key=order),
            "truncated": own_truncated or naming_truncated}


def to_networkx(graph: OnionGraph) -> Any:
    """The graph as a ``networkx.DiGraph``: node attributes ``crawled``, ``pages``; edge attributes
    ``kinds`` ("link", "text" or "link text"), ``link``, ``text`` (booleans) and ``pages``."""
    import networkx

    directed = networkx.DiGraph(name="onionscope onion graph", truncated=graph.truncated)
    for host, attributes in sorted(graph.nodes.items()):
        directed.add_node(host, label=host, crawled=bool(attributes["crawled"]), pages=int(attributes["pages"]))
    for (source, target), edge in sorted(graph.edges.items()):
        kinds = sorted(edge["kinds"])
        directed.add_edge(source, target, kinds=" ".join(kinds), link="link" in kinds, text="text" in kinds,
                          pages=int(edge["pages"]), weight=int(edge["pages"]))
    return directed


def export_graph(graph: OnionGraph, format: str) -> bytes:
    """The graph as GEXF 1.2 or GraphML (UTF-8 XML); raises ValueError for an unknown format."""
    import networkx

    if format not in GRAPH_FORMATS:
        raise ValueError(f"unknown graph format '{format}' (choose {', '.join(GRAPH_FORMATS)})")
    directed = to_networkx(graph)
    buffer = io.BytesIO()
    if format == "gexf":
        networkx.write_gexf(directed, buffer)
    else:
        networkx.write_graphml(directed, buffer)
    return buffer.getvalue()
