"""What the chart pages share: an answer whose HTML carries SVG charts and whose JSON twin carries the numbers.

Public API: :func:`respond_with_charts` (request, template, data, charts) -> the
page, with ``charts`` (name -> SVG markup of :mod:`search.svg_charts`) beside
``data``; or ``data`` alone as JSON.  The charts are drawn only for the page.
"""

from __future__ import annotations

from typing import Any, Callable

from fastapi import Request
from fastapi.responses import Response

from search.api.context import SECURITY_HEADERS, JSONAnswer, render_html, wants_json


def respond_with_charts(request: Request, template: str, data: dict[str, Any],
                        charts: Callable[[], dict[str, Any]]) -> Response:
    if wants_json(request):
        return JSONAnswer(data, headers=SECURITY_HEADERS)
    return render_html(request, template, {**data, "charts": charts()})
