"""What the chart pages share: an answer whose HTML carries SVG charts and whose JSON twin carries the numbers.

Public API: :func:`respond_with_charts` (request, template, data, charts) -> the
page, with ``charts`` (name -> SVG markup of :mod:`search.svg_charts`) beside
``data``; or ``data`` alone as JSON.  The charts are drawn only for the page, and
a chart with nothing to draw says so in the reader's language.
"""

from __future__ import annotations

from typing import Any, Callable

import markupsafe
from fastapi import Request
from fastapi.responses import Response

from config.i18n import translator
from search import svg_charts
from search.api.context import SECURITY_HEADERS, JSONAnswer, language_of, render_html, wants_json

_EMPTY_TEXT = f">{svg_charts.NO_DATA}</p>"


def respond_with_charts(request: Request, template: str, data: dict[str, Any],
                        charts: Callable[[], dict[str, Any]]) -> Response:
    if wants_json(request):
        return JSONAnswer(data, headers=SECURITY_HEADERS)
    no_data = f">{markupsafe.escape(translator(language_of(request)).gettext(svg_charts.NO_DATA))}</p>"
    drawn = {
        name: markupsafe.Markup(str(chart).replace(_EMPTY_TEXT, no_data))
        if isinstance(chart, markupsafe.Markup) and str(chart).startswith('<p class="empty"') else chart
        for name, chart in charts().items()
    }
    return render_html(request, template, {**data, "charts": drawn})
