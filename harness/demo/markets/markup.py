"""HTML building blocks shared by the demo site renderers, and what a renderer returns.

* :class:`RenderedSite` -- pages (path -> HTML), their page types, and the
  media paths the pages reference;
* :func:`esc` -- escape any value for HTML text or a double-quoted attribute;
  every string that comes from the world goes through it, because the world
  contains injection attempts (``<script>`` titles) that must stay text;
* :func:`document` -- the ``<!DOCTYPE html>`` shell;
* :func:`json_for_script` -- JSON safe inside ``<script>`` (no ``</script>`` break-out).

Pure functions.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RenderedSite:
    pages: dict[str, str] = field(default_factory=dict)  # path (+ ?query) -> HTML
    page_types: dict[str, str] = field(default_factory=dict)
    media: set[str] = field(default_factory=set)  # paths of images and archives referenced

    def add(self, path: str, page_type: str, markup: str) -> None:
        if path in self.pages:
            raise ValueError(f"demo renderer produced {path} twice")
        self.pages[path] = markup
        self.page_types[path] = page_type


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def document(title: str, body: str, *, lang: str = "en", head: str = "", style: str = "") -> str:
    style_block = f"<style>{style}</style>" if style else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(lang)}"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title>{style_block}{head}</head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def json_for_script(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def paginate(items: list[Any], per_page: int) -> list[list[Any]]:
    """Split into pages; an empty list still gives one (empty) page."""
    pages = [items[start : start + per_page] for start in range(0, len(items), per_page)]
    return pages or [[]]


def format_amount(amount: float, decimals: int) -> str:
    return f"{amount:.{decimals}f}"
