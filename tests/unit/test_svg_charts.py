"""search.svg_charts: well-formed SVG, every number on its mark, every crawled label escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from search import svg_charts

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script>"\' & ]]> \u202egnp.exe\x1b[31m'


def _parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(str(markup))


def _points(root: ElementTree.Element) -> list[dict[str, str]]:
    return [element.attrib for element in root.iter() if "point" in element.attrib.get("class", "").split()]


def test_time_series_bars_carry_each_value():
    series = {"old-bazaar": {"2026-12-01": 3, "2026-12-03": 5}, "nebula": {"2026-12-02": 2.5}}
    root = _parse(svg_charts.time_series("c", series, "bars", "listings"))
    assert root.tag == SVG + "svg" and root.attrib["data-chart"] == "c"
    found = {(point["data-series"], point["data-x"], point["data-value"]) for point in _points(root)}
    assert found == {("old-bazaar", "2026-12-01", "3"), ("old-bazaar", "2026-12-03", "5"), ("nebula", "2026-12-02", "2.5")}
    # Three days on the axis, the missing one included.
    labels = [text.text for text in root.iter(SVG + "text")]
    assert {"12-01", "12-02", "12-03"} <= set(labels)


def test_time_series_lines_and_taller_bars_for_bigger_values():
    root = _parse(svg_charts.time_series("c", {"m": {"2026-01-01": 1, "2026-01-02": 4}}, "lines"))
    circles = sorted(root.iter(SVG + "circle"), key=lambda element: element.attrib["data-x"])
    assert float(circles[0].attrib["cy"]) > float(circles[1].attrib["cy"])  # higher value, higher on screen
    assert len(list(root.iter(SVG + "polyline"))) == 1
    with pytest.raises(ValueError):
        svg_charts.time_series("c", {"m": {"2026-01-01": 1}}, "pie")
    with pytest.raises(ValueError):
        svg_charts.time_series("c", {"m": {"yesterday": 1}})


@pytest.mark.parametrize("draw", [
    lambda: svg_charts.time_series(HOSTILE, {HOSTILE: {"2026-01-01": 1}}, "bars", HOSTILE),
    lambda: svg_charts.time_series(HOSTILE, {HOSTILE: {"2026-01-01": 1, "2026-01-04": 2}}, "lines", HOSTILE),
    lambda: svg_charts.ranked_bars(HOSTILE, [(HOSTILE, 3)], HOSTILE),
    lambda: svg_charts.activity_ranges(HOSTILE, [{"label": HOSTILE, "first": "2026-01-01T00:00:00Z",
                                                  "last": "2026-02-01T00:00:00Z", "count": 2}]),
    lambda: svg_charts.neighbourhood(HOSTILE, HOSTILE, [{"host": HOSTILE, "kinds": ["link"], "pages": 1}],
                                     [{"host": HOSTILE + "x", "kinds": ["text"], "pages": 2}],
                                     lambda host: "/onions/" + host),
])
def test_hostile_labels_stay_text(draw):
    markup = str(draw())
    root = _parse(markup)  # well-formed: nothing broke out of a text node or an attribute
    assert not [element for element in root.iter() if element.tag.endswith("script")]
    assert "<script>" not in markup and "\x1b" not in markup and "\u202e" not in markup
    texts = " ".join(element.text or "" for element in root.iter())
    assert "<script>alert(1)</script>" in texts or "<script>alert(1)</scrip" in texts
    assert "\\x1b" in markup and "\\u202e" in markup  # invisible characters shown, not acted on
    assert not any(name == "style" or name.startswith("on") for element in root.iter() for name in element.attrib)


def test_long_labels_are_capped():
    root = _parse(svg_charts.ranked_bars("c", [("x" * 5000, 1)]))
    assert max(len(element.attrib.get("data-x", "")) for element in root.iter()) <= svg_charts.MAX_LABEL


def test_ranked_bars_and_ranges_carry_numbers():
    root = _parse(svg_charts.ranked_bars("c", [("mdma", 7), ("ketamine", 3)]))
    assert [(p["data-x"], p["data-value"]) for p in _points(root)] == [("mdma", "7"), ("ketamine", "3")]
    root = _parse(svg_charts.activity_ranges("a", [
        {"label": "old-bazaar", "first": "2026-01-01T00:00:00Z", "last": "2026-03-01T00:00:00Z", "count": 4},
        {"label": "nebula", "first": "2026-02-01T00:00:00Z", "last": "2026-02-02T00:00:00Z", "count": 1},
        {"label": "never", "first": None, "last": None, "count": 0},
    ]))
    assert [(p["data-x"], p["data-value"], p["data-first"]) for p in _points(root)] == [
        ("old-bazaar", "4", "2026-01-01T00:00:00Z"), ("nebula", "1", "2026-02-01T00:00:00Z")]


def test_neighbourhood_edges_point_the_right_way():
    root = _parse(svg_charts.neighbourhood("g", "c.onion", [{"host": "a.onion", "kinds": ["text"], "pages": 2}],
                                           [{"host": "b.onion", "kinds": ["link", "text"], "pages": 1}],
                                           lambda host: f"/onions/{host}/graph"))
    edges = {(e.attrib["data-source"], e.attrib["data-target"], e.attrib["data-kinds"], e.attrib["data-pages"])
             for e in root.iter(SVG + "line") if e.attrib.get("class") == "edge"}
    assert edges == {("a.onion", "c.onion", "text", "2"), ("c.onion", "b.onion", "link text", "1")}
    dashed = {e.attrib["data-source"] for e in root.iter(SVG + "line") if "stroke-dasharray" in e.attrib}
    assert dashed == {"a.onion"}  # text only: dashed


def test_nothing_to_draw():
    for markup in (svg_charts.time_series("c", {}), svg_charts.time_series("c", {"m": {}}),
                   svg_charts.ranked_bars("c", []), svg_charts.activity_ranges("c", [])):
        assert 'class="empty"' in markup and 'data-chart="c"' in markup


def test_a_price_chart_names_its_one_currency_and_labels_tiny_prices_in_plain_decimals():
    series = {"tundra-shop": {"2026-12-06": 0.00024}, "old-bazaar": {"2026-12-06": 0.00015}}
    root = _parse(svg_charts.time_series("price-per-gram", series, "lines", "median price per gram", unit="BTC"))
    assert root.attrib["data-unit"] == "BTC"
    labels = [text.text or "" for text in root.iter(SVG + "text")]
    assert "BTC" in labels and "0.0001875" in labels and "0.0000625" in labels
    assert not any("e-" in label for label in labels)
    # The value axis leaves room for its widest label.
    grid = next(line for line in root.iter(SVG + "line"))
    assert float(grid.attrib["x1"]) >= 6.5 * len("0.0001875")
    assert "data-unit" not in _parse(svg_charts.time_series("c", series, "lines")).attrib
    hostile = svg_charts.time_series("price-per-gram", series, "lines", unit=HOSTILE)
    assert "<script>" not in str(hostile) and len(_parse(hostile).attrib["data-unit"]) <= 16
