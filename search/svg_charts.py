"""Charts as SVG, drawn on the server: time series, ranked bars, activity ranges and an onion neighbourhood.

Why a renderer of our own: the UI sends no script (the Content-Security-Policy
allows none) and loads nothing from elsewhere, so a JavaScript chart library is
out; the Python plotting libraries (matplotlib and the like) are large, draw
text as paths or with their own fonts, and give no hook to put each value on
its mark.  The charts here need a few rectangles, lines and labels, so this
module draws them itself in a couple of hundred lines.

Every mark carries its numbers as data attributes (``data-series``,
``data-x``, ``data-value``...), so tests read the chart's data, not its pixels,
and a ``<title>`` child, so hovering shows the value with no script.

Every label comes from crawled data (market, vendor and substance names, onion
hosts), so every string that reaches the SVG goes through :func:`_text`:
invisible and control characters shown as visible escapes (the rule of
:func:`search.cli_output.escape_invisible`), then XML-escaped, quotes
included, and capped at :data:`MAX_LABEL` characters.  Styling uses
presentation attributes, never ``style`` (the policy forbids inline style).

Public API (each returns a :class:`markupsafe.Markup` holding one ``<svg>``
element, or a ``<p class="empty">`` when there is nothing to draw):

* :func:`time_series` (chart_id, series, kind="bars"|"lines", value_label) --
  ``series`` maps a series name to ``{day "YYYY-MM-DD": number}``;
* :func:`ranked_bars` (chart_id, rows, value_label) -- ``rows`` is a list of
  ``(label, number)``, drawn as horizontal bars in the given order;
* :func:`activity_ranges` (chart_id, rows) -- ``rows`` of ``{label, first, last,
  count}`` (ISO instants), one bar per row from first to last seen;
* :func:`neighbourhood` (chart_id, centre, incoming, outgoing, link) -- a host
  between the hosts that name it and the hosts it names.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Sequence

import markupsafe

from config.i18n import N_
from search.cli_output import escape_invisible

MAX_LABEL = 80
# Colour-blind-safe palette (Okabe-Ito), then greys.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
           "#7f7f7f", "#bcbcbc")
WIDTH = 760
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _text(value: Any, limit: int = MAX_LABEL) -> str:
    """``value`` as safe SVG text or attribute content: visible escapes, XML escapes, capped."""
    shown = escape_invisible(str(value))
    if len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return str(markupsafe.escape(shown))


def _number(value: float) -> str:
    """A value as the data attributes carry it: integers without a point, others in full (shortest round trip)."""
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _axis_number(value: float) -> str:
    """A value axis label: thousands grouped, small values (a BTC price per gram) in plain decimals, never 6e-05."""
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == 0 or abs(value) >= 0.001:
        return f"{value:.4g}"
    decimals = 3 - math.floor(math.log10(abs(value)))
    return f"{value:.{decimals}f}".rstrip("0")


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


#: What a chart with nothing to draw says (translated where it is shown: search.api.chart_pages).
NO_DATA = N_("No data to chart.")


def _empty(chart_id: str, message: str = NO_DATA) -> markupsafe.Markup:
    return markupsafe.Markup(f'<p class="empty" data-chart="{_text(chart_id)}">{_text(message)}</p>')


def _nice_max(value: float) -> float:
    """A round number at or above ``value`` for the top of the value axis."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 1.0
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=offset)).isoformat() for offset in range((end - start).days + 1)]


def _legend(names: Sequence[str], top: float, labels: Mapping[str, str] | None = None) -> list[str]:
    parts = []
    x = 50.0
    for index, name in enumerate(names):
        label = _text((labels or {}).get(name, name), 40)
        parts.append(f'<g class="legend-item" data-series="{_text(name)}"><rect x="{x:.1f}" y="{top:.1f}" width="10" '
                     f'height="10" fill="{_colour(index)}"/><text x="{x + 14:.1f}" y="{top + 9:.1f}">{label}</text></g>')
        x += 24 + 6.5 * min(len(str(name)), 40)
    return parts


def _value_axis(height: float, top: float, left: float, right: float, maximum: float) -> list[str]:
    parts = []
    for tick in range(5):
        value = maximum * tick / 4
        y = top + height - height * tick / 4
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d9dee3"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{_axis_number(value)}</text>')
    return parts


def time_series(chart_id: str, series: Mapping[str, Mapping[str, float]], kind: str = "bars",
                value_label: str = "", labels: Mapping[str, str] | None = None,
                empty: str = NO_DATA, unit: str = "") -> markupsafe.Markup:
    """A chart of values per day: grouped bars, or one line per series.

    ``unit`` is what every value of the chart is counted in (a currency for
    prices): one chart, one axis, one unit.  It is written on the ``<svg>`` as
    ``data-unit`` and beside the value axis.

    ``labels`` shows a series under another name (the reader's language for
    names the project defines); ``data-series`` keeps the series' own name.

    Days run from the earliest to the latest day of any series, with no gap
    (a day without a value has no mark).  Raises ValueError for a day that is
    not ``YYYY-MM-DD`` or an unknown ``kind``.
    """
    if kind not in ("bars", "lines"):
        raise ValueError(f"unknown time series kind {kind!r}")
    names = [name for name in series if series[name]]
    if not names:
        return _empty(chart_id, empty)
    all_days = sorted({day for name in names for day in series[name]})
    days = _days(all_days[0], all_days[-1])
    maximum = _nice_max(max(float(value) for name in names for value in series[name].values()))
    # Room for the longest value label (0.0001875 BTC is wider than 100).
    widest = max(len(_axis_number(maximum * tick / 4)) for tick in range(5))
    left, right, top, plot_height = max(60.0, 10.0 + 6.5 * widest), WIDTH - 10.0, 10.0, 220.0
    legend_top = top + plot_height + 34
    legend_rows = 1 + sum(len(str(name)) for name in names) // 90
    height = legend_top + 16 * legend_rows + 6
    slot = (right - left) / len(days)

    def y_of(value: float) -> float:
        return top + plot_height - plot_height * float(value) / maximum

    unit_shown = _text(unit, 16)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_text(chart_id)}" '
             f'data-kind="{kind}"' + (f' data-unit="{unit_shown}"' if unit else "")
             + f' viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img" {FONT}>',
             f'<title>{_text(value_label)}' + (f" ({unit_shown})" if unit else "") + "</title>"]
    parts += _value_axis(plot_height, top, left, right, maximum)
    if unit:
        parts.append(f'<text class="unit" x="{right:.1f}" y="{top + plot_height + 27:.1f}" '
                     f'text-anchor="end">{unit_shown}</text>')
    label_every = max(1, len(days) // 10)
    for index, day in enumerate(days):
        if index % label_every == 0:
            x = left + slot * (index + 0.5)
            parts.append(f'<text x="{x:.1f}" y="{top + plot_height + 14:.1f}" text-anchor="middle">{day[5:]}</text>')
    parts.append(f'<text x="{left:.1f}" y="{top + plot_height + 27:.1f}">{_text(days[0][:4])}'
                 f'{" – " + _text(days[-1][:4]) if days[-1][:4] != days[0][:4] else ""}</text>')
    day_index = {day: index for index, day in enumerate(days)}
    for number, name in enumerate(names):
        colour = _colour(number)
        points = sorted(series[name].items())
        parts.append(f'<g class="series" data-series="{_text(name)}" fill="{colour}" stroke="{colour}">')
        if kind == "bars":
            width = slot * 0.8 / len(names)
            for day, value in points:
                x = left + slot * day_index[day] + slot * 0.1 + width * number
                y = y_of(value)
                parts.append(f'<rect class="point" data-series="{_text(name)}" data-x="{_text(day)}" '
                             f'data-value="{_number(value)}" x="{x:.2f}" y="{y:.2f}" width="{max(width, 1):.2f}" '
                             f'height="{top + plot_height - y:.2f}" stroke="none"><title>{_text(name)} {day}: '
                             f'{_number(value)}</title></rect>')
        else:
            coordinates = [(left + slot * (day_index[day] + 0.5), y_of(value)) for day, value in points]
            if len(coordinates) > 1:
                path = " ".join(f"{x:.2f},{y:.2f}" for x, y in coordinates)
                parts.append(f'<polyline points="{path}" fill="none" stroke-width="2"/>')
            for (day, value), (x, y) in zip(points, coordinates):
                parts.append(f'<circle class="point" data-series="{_text(name)}" data-x="{_text(day)}" '
                             f'data-value="{_number(value)}" cx="{x:.2f}" cy="{y:.2f}" r="4" stroke="none">'
                             f'<title>{_text(name)} {day}: {_number(value)}</title></circle>')
        parts.append("</g>")
    parts.append(f'<g fill="#1d232a">{"".join(_legend(names, legend_top, labels))}</g>')
    parts.append("</svg>")
    return markupsafe.Markup("".join(parts))


def ranked_bars(chart_id: str, rows: Sequence[tuple[str, float]], value_label: str = "",
                colours: Sequence[str] | None = None, labels: Mapping[str, str] | None = None,
                empty: str = NO_DATA) -> markupsafe.Markup:
    """Horizontal bars, one per ``(label, value)`` row, in the order given.

    ``labels`` shows a row under another name; ``data-x`` keeps the row's own.
    """
    if not rows:
        return _empty(chart_id, empty)
    maximum = _nice_max(max(float(value) for _, value in rows))
    label_width, bar_left, bar_right, row_height = 170.0, 175.0, WIDTH - 60.0, 20.0
    height = row_height * len(rows) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_text(chart_id)}" '
             f'data-kind="ranked" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img" {FONT}>',
             f'<title>{_text(value_label)}</title>']
    for index, (label, value) in enumerate(rows):
        y = 5 + row_height * index
        width = (bar_right - bar_left) * float(value) / maximum
        colour = colours[index % len(colours)] if colours else _colour(0)
        shown = (labels or {}).get(label, label)
        parts.append(f'<g class="point" data-x="{_text(label)}" data-value="{_number(value)}">'
                     f'<text x="{label_width:.1f}" y="{y + 13:.1f}" text-anchor="end">{_text(shown, 28)}</text>'
                     f'<rect x="{bar_left:.1f}" y="{y + 2:.1f}" width="{max(width, 1):.2f}" height="{row_height - 5:.1f}" '
                     f'fill="{colour}"><title>{_text(shown)}: {_number(value)}</title></rect>'
                     f'<text x="{bar_left + width + 4:.1f}" y="{y + 13:.1f}">{_number(value)}</text></g>')
    parts.append("</svg>")
    return markupsafe.Markup("".join(parts))


def _instant(value: str) -> datetime:
    instant = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)


def activity_ranges(chart_id: str, rows: Sequence[Mapping[str, Any]]) -> markupsafe.Markup:
    """One bar per row from its ``first`` to its ``last`` instant, labelled with its ``count``.

    Rows without both instants are left out.  Raises ValueError for an instant
    that is not ISO 8601.
    """
    rows = [row for row in rows if row.get("first") and row.get("last")]
    if not rows:
        return _empty(chart_id)
    starts = [_instant(row["first"]) for row in rows]
    ends = [_instant(row["last"]) for row in rows]
    low, high = min(starts), max(ends)
    span = max((high - low).total_seconds(), 86400.0)
    label_width, bar_left, bar_right, row_height = 170.0, 175.0, WIDTH - 90.0, 24.0
    height = row_height * len(rows) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_text(chart_id)}" '
             f'data-kind="ranges" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" role="img" {FONT}>']
    for index, (row, start, end) in enumerate(zip(rows, starts, ends)):
        y = 5 + row_height * index
        x1 = bar_left + (bar_right - bar_left) * (start - low).total_seconds() / span
        x2 = bar_left + (bar_right - bar_left) * (end - low).total_seconds() / span
        count = row.get("count", 0)
        parts.append(f'<g class="point" data-x="{_text(row.get("label", ""))}" data-first="{_text(row["first"])}" '
                     f'data-last="{_text(row["last"])}" data-value="{_number(float(count))}">'
                     f'<text x="{label_width:.1f}" y="{y + 15:.1f}" text-anchor="end">{_text(row.get("label", ""), 28)}</text>'
                     f'<rect x="{x1:.2f}" y="{y + 3:.1f}" width="{max(x2 - x1, 4):.2f}" height="{row_height - 8:.1f}" '
                     f'fill="{_colour(index)}"><title>{_text(row.get("label", ""))}: {_text(row["first"])} – '
                     f'{_text(row["last"])}, {_number(float(count))}</title></rect>'
                     f'<text x="{max(x2, x1 + 4) + 4:.1f}" y="{y + 15:.1f}">{_number(float(count))}</text></g>')
    axis_y = 5 + row_height * len(rows) + 14
    parts.append(f'<text x="{bar_left:.1f}" y="{axis_y:.1f}">{_text(low.date().isoformat())}</text>'
                 f'<text x="{bar_right:.1f}" y="{axis_y:.1f}" text-anchor="end">{_text(high.date().isoformat())}</text>')
    parts.append("</svg>")
    return markupsafe.Markup("".join(parts))


def _short_host(host: str) -> str:
    return host if len(host) <= 22 else host[:16] + "…" + host[-6:]


def neighbourhood(chart_id: str, centre: str, incoming: Sequence[Mapping[str, Any]],
                  outgoing: Sequence[Mapping[str, Any]], link: Callable[[str], str]) -> markupsafe.Markup:
    """``centre`` in the middle, the hosts that name it on the left, the hosts it names on the right.

    Each neighbour is ``{host, kinds: [link|text...], pages: int}``; ``link``
    gives the URL a neighbour's box opens (escaped here).  An edge is solid
    when a page links to the host, dashed when it only names it in text.
    """
    rows = max(len(incoming), len(outgoing), 1)
    row_height = 30.0
    height = max(row_height * rows + 20, 80.0)
    box_width, box_height = 210.0, 22.0
    left_x, centre_x, right_x = 10.0, WIDTH / 2 - box_width / 2, WIDTH - 10.0 - box_width
    centre_y = height / 2 - box_height / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_text(chart_id)}" '
             f'data-kind="graph" data-centre="{_text(centre)}" viewBox="0 0 {WIDTH} {height:.0f}" width="100%" '
             f'role="img" {FONT}>',
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#5b6570"/></marker></defs>']

    def box(host: str, x: float, y: float, css: str, href: str | None, extra: str = "") -> str:
        shape = (f'<rect x="{x:.1f}" y="{y:.1f}" width="{box_width}" height="{box_height}" rx="4" '
                 f'fill="{"#20142d" if css == "centre" else "#ffffff"}" stroke="#7a3cc3"/>'
                 f'<text x="{x + box_width / 2:.1f}" y="{y + 15:.1f}" text-anchor="middle" '
                 f'fill="{"#ffffff" if css == "centre" else "#1d232a"}">{_text(_short_host(host))}</text>'
                 f'<title>{_text(host)}</title>')
        if href:
            shape = f'<a href="{_text(href, 2048)}">{shape}</a>'
        return f'<g class="node {css}" data-host="{_text(host)}"{extra}>{shape}</g>'

    def edge(neighbour: Mapping[str, Any], direction: str, x1: float, y1: float, x2: float, y2: float) -> str:
        kinds = sorted(set(neighbour.get("kinds") or []))
        dashed = "" if "link" in kinds else ' stroke-dasharray="5 4"'
        source, target = (neighbour["host"], centre) if direction == "in" else (centre, neighbour["host"])
        return (f'<line class="edge" data-source="{_text(source)}" data-target="{_text(target)}" '
                f'data-kinds="{_text(" ".join(kinds))}" data-pages="{int(neighbour.get("pages") or 0)}" '
                f'x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#5b6570"{dashed} '
                f'marker-end="url(#arrow)"/>')

    for side, neighbours, x in (("in", incoming, left_x), ("out", outgoing, right_x)):
        top = height / 2 - row_height * len(neighbours) / 2
        for index, neighbour in enumerate(neighbours):
            y = top + row_height * index + (row_height - box_height) / 2
            if side == "in":
                parts.append(edge(neighbour, "in", x + box_width, y + box_height / 2, centre_x, centre_y + box_height / 2))
            else:
                parts.append(edge(neighbour, "out", centre_x + box_width, centre_y + box_height / 2, x, y + box_height / 2))
            parts.append(box(neighbour["host"], x, y, "neighbour", link(neighbour["host"])))
    parts.append(box(centre, centre_x, centre_y, "centre", None))
    if not incoming and not outgoing:
        parts.append(f'<text x="{WIDTH / 2:.1f}" y="{centre_y + box_height + 18:.1f}" text-anchor="middle">'
                     'No page links to or names this host, and it names no other.</text>')
    parts.append("</svg>")
    return markupsafe.Markup("".join(parts))

