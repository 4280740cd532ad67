"""Terminal rendering of search results: ranked hits, highlighted snippets, onion host, fetch time.

Crawled text is hostile: before anything reaches the terminal, control
characters (escape sequences that could move the cursor, rewrite the title
bar or hide text), bidirectional overrides and other invisible format
characters are shown as visible ``\\xNN``/``\\uNNNN`` escapes.  Highlighting
is added afterwards, by this module only.

Public API:

* :func:`escape_terminal` (text) -> str
* :func:`render_hits` (result, color) -> str
* :func:`render_json` (result) -> str; :func:`render_csv` (result) -> str
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata

from search.exports.csv_export import safe_cell
from search.results import SearchResult

BOLD_YELLOW = "\x1b[1;33m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RESET = "\x1b[0m"
MAX_TITLE_CHARS = 200
MAX_SNIPPET_CHARS = 400


def escape_terminal(text: str) -> str:
    """``text`` with every control or format character made visible; newlines and tabs become spaces."""
    out: list[str] = []
    for char in str(text):
        if char in "\n\r\t":
            out.append(" ")
            continue
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
            continue
        out.append(char)
    return "".join(out)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _snippet(segments: list[dict], color: bool) -> str:
    parts = []
    used = 0
    for segment in segments:
        text = escape_terminal(segment["text"])
        # Collapse runs of spaces but keep the ones that separate words from highlights.
        text = re.sub(r"\s+", " ", text)
        remaining = MAX_SNIPPET_CHARS - used
        if remaining <= 0:
            break
        text = _clip(text, remaining)
        used += len(text)
        if segment["hit"]:
            parts.append(f"{BOLD_YELLOW}{text}{RESET}" if color else f"[{text}]")
        else:
            parts.append(text)
    return "".join(parts).strip()


def render_hits(result: SearchResult, color: bool = False) -> str:
    """The hits as numbered blocks, ranked as Elasticsearch returned them."""
    total = f"{result.total}{'' if result.total_is_exact else '+'}"
    lines = [f"{total} {result.kind} match {escape_terminal(result.query)!s} ({result.took_ms} ms)"]
    for rank, hit in enumerate(result.hits, start=1):
        source = hit.source
        title = _clip(escape_terminal(hit.title or "(no title)"), MAX_TITLE_CHARS)
        lines.append("")
        lines.append(f"{rank:>3}. {BOLD + title + RESET if color else title}")
        facts = []
        for label, key in (("market", "market"), ("vendor", "vendor"), ("coin", "coin")):
            if source.get(key):
                facts.append(f"{label} {escape_terminal(source[key])}")
        if source.get("price_amount") is not None:
            facts.append(f"{source['price_amount']} {escape_terminal(source.get('price_currency') or '')}".strip())
        if facts:
            lines.append("     " + " · ".join(facts))
        where = []
        if source.get("onion_host"):
            where.append(f"onion {escape_terminal(source['onion_host'])}")
        when = source.get("fetched_at") or source.get("last_seen")
        if when:
            where.append(f"fetched {escape_terminal(when)}")
        if where:
            lines.append("     " + " · ".join(where))
        if source.get("url"):
            lines.append("     " + _clip(escape_terminal(source["url"]), 300))
        for segments in hit.snippets[:2]:
            text = _snippet(segments, color)
            if text:
                lines.append("     … " + text + " …")
        lines.append(f"     {DIM if color else ''}id {hit.id}{RESET if color else ''}")
    if result.next_cursor:
        lines.append("")
        lines.append(f"more: --cursor {result.next_cursor}")
    return "\n".join(lines) + "\n"


def render_json(result: SearchResult) -> str:
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"


CSV_COLUMNS = ("rank", "id", "kind", "title", "market", "vendor", "onion_host", "url", "fetched_at", "score", "snippet")


def render_csv(result: SearchResult) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for rank, hit in enumerate(result.hits, start=1):
        source = hit.source
        snippet = " … ".join("".join(part["text"] for part in segments) for segments in hit.snippets)
        writer.writerow(
            [rank, hit.id, hit.kind, safe_cell(hit.title), safe_cell(source.get("market")), safe_cell(source.get("vendor")),
             safe_cell(source.get("onion_host")), safe_cell(source.get("url")),
             safe_cell(source.get("fetched_at") or source.get("last_seen")), hit.score, safe_cell(snippet)]
        )
    return buffer.getvalue()
