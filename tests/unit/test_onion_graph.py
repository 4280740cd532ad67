"""search.onion_graph: edges from pages' onion mentions, and GEXF/GraphML that networkx reads back."""

from __future__ import annotations

import io

import networkx
import pytest

from search.onion_graph import OnionGraph, export_graph, to_networkx

A, B, C, D = ("a" * 56 + ".onion", "b" * 56 + ".onion", "c" * 56 + ".onion", "d" * 56 + ".onion")


def _graph() -> OnionGraph:
    graph = OnionGraph()
    blocked = frozenset({D})
    pages = [
        {"onion_host": A, "onion_mentions": [{"host": B, "where": "link"}, {"host": B, "where": "text"},
                                             {"host": C, "where": "text"}, {"host": D, "where": "link"},
                                             {"host": A, "where": "link"}]},
        {"onion_host": A, "onion_mentions": [{"host": B, "where": "link"}]},
        {"onion_host": B, "onion_mentions": []},
        {"onion_host": D, "onion_mentions": [{"host": A, "where": "link"}]},  # a blocked host's page
    ]
    for page in pages:
        graph.add_page(page, blocked)
    return graph


def test_edges_from_mentions():
    graph = _graph()
    assert {pair: (sorted(edge["kinds"]), edge["pages"]) for pair, edge in graph.edges.items()} == {
        (A, B): (["link", "text"], 2), (A, C): (["text"], 1)}
    assert graph.nodes[A]["crawled"] and graph.nodes[B]["crawled"] and not graph.nodes[C]["crawled"]
    assert D not in graph.nodes  # blocked: neither a node nor an edge


@pytest.mark.parametrize("format, read", [("gexf", networkx.read_gexf), ("graphml", networkx.read_graphml)])
def test_exports_load_in_networkx(format, read):
    graph = _graph()
    graph.nodes['<x>"&.onion'] = {"crawled": False, "pages": 0}  # hostile text stays data
    loaded = read(io.BytesIO(export_graph(graph, format)))
    assert loaded.is_directed()
    assert set(loaded.edges()) == {(A, B), (A, C)}
    assert '<x>"&.onion' in loaded.nodes
    assert loaded.edges[A, B]["pages"] == 2 and loaded.edges[A, C]["kinds"] == "text"


def test_unknown_format():
    with pytest.raises(ValueError, match="gexf"):
        export_graph(OnionGraph(), "dot")


def test_to_networkx_attributes():
    directed = to_networkx(_graph())
    assert directed.edges[A, B]["link"] is True and directed.edges[A, C]["link"] is False


@pytest.mark.parametrize("arguments", [
    ["export", "graph", "--format", "stix"],
    ["export", "graph", "--format", "gexf", "--query", "x"],
    ["export", "--format", "gexf", "--query", "x"],
    ["export", "--format", "csv"],
])
def test_export_command_refuses_mixed_arguments_before_connecting(arguments, capsys):
    from onionscope.cli import main

    assert main(arguments) == 1
    assert "onionscope export graph" in capsys.readouterr().err
