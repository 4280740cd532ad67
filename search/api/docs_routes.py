"""``GET /docs`` and ``GET /openapi.json``: the API's description, for viewers only.

The stock docs pages need a CDN, so ``/docs`` is rendered on the server.
Both need a viewer token: the description lists every route and parameter,
which is nobody else's business.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from search.api.context import render_html, viewer
from search.auth import TokenRecord

router = APIRouter()


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, who: TokenRecord = Depends(viewer)) -> dict[str, Any]:
    return request.app.openapi()


@router.get("/docs", include_in_schema=False)
def docs(request: Request, who: TokenRecord = Depends(viewer)) -> Response:
    schema = request.app.openapi()
    operations = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary", ""),
                    "parameters": [
                        {
                            "name": parameter.get("name"),
                            "where": parameter.get("in"),
                            "required": parameter.get("required", False),
                            "description": parameter.get("description", ""),
                        }
                        for parameter in operation.get("parameters", [])
                    ],
                }
            )
    return render_html(request, "docs.html", {"operations": operations, "title": schema["info"]["title"]})
