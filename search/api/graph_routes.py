"""The onion graph: ``GET /onions/{host}/graph`` (one host's neighbourhood) and ``GET /graph/export``.

* ``/onions/{host}/graph`` -- the hosts whose pages name ``host`` and the hosts
  its pages name, drawn as SVG (a solid edge: a link; dashed: named in text
  only), with a table of the same; JSON twin :func:`search.onion_graph.neighbourhood_steps`.
  An unknown host is a 404.
* ``/graph/export?format=gexf|graphml`` -- the whole graph as a file for Gephi
  (:func:`search.onion_graph.export_graph`).

A viewer token is needed; each is audited (kind ``graph``, channel ``export``
for the export).  Hosts the blocklist names are neither nodes nor edges.

Public API: :data:`router`.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from search import svg_charts
from search.api.chart_pages import respond_with_charts
from search.api.context import SECURITY_HEADERS, audit, context_of, respond, viewer
from search.auth import TokenRecord
from search.blocklist import blocklist_of
from search.es_steps import run, run_async
from search.onion_graph import GRAPH_FORMATS, export_graph, graph_steps, neighbourhood_steps

router = APIRouter(tags=["graph"])


def _graph_link(host: str) -> str:
    from urllib.parse import quote

    return f"/onions/{quote(host, safe='')}/graph"


@router.get("/onions/{host}/graph", summary="An onion host's neighbourhood: who names it, whom it names")
async def neighbourhood_page(
    request: Request, host: str = Path(..., max_length=256), who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    client = context.async_client()
    blocked = blocklist_of(client).onion_hosts
    found = await run_async(client, neighbourhood_steps(context.index_prefix, host, blocked))
    audit(request, who, query=f"onion:{host}", kind="graph", result_count=0 if found is None else 1)
    if found is None:
        return respond(request, "error.html", {"error": "no page of this onion host was crawled, and no page names it",
                                               "status": 404}, 404)
    return respond_with_charts(request, "onion_graph.html", found, lambda: {
        "neighbourhood": svg_charts.neighbourhood("onion-neighbourhood", found["host"], found["incoming"],
                                                  found["outgoing"], _graph_link),
    })


@router.get("/graph/export", summary="The whole onion graph as GEXF or GraphML (for Gephi)")
def graph_export(
    request: Request,
    format: Literal["gexf", "graphml"] = Query("gexf"),
    who: TokenRecord = Depends(viewer),
) -> Response:
    context = context_of(request)
    graph = run(context.client, graph_steps(context.index_prefix, blocklist_of(context.client).onion_hosts))
    audit(request, who, query="graph", kind="graph", result_count=len(graph.edges), channel="export",
          detail={"format": format, "nodes": len(graph.nodes), "truncated": graph.truncated})
    headers = dict(SECURITY_HEADERS)
    headers["Content-Disposition"] = f'attachment; filename="onionscope-graph.{format}"'
    return Response(export_graph(graph, format), media_type=GRAPH_FORMATS[format], headers=headers)
