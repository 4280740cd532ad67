"""Terminal rendering of search results: ranked hits, highlighted snippets, onion host, fetch time.

Crawled text is hostile: before anything reaches the terminal, control
characters (escape sequences that could move the cursor, rewrite the title
bar or hide text), bidirectional overrides and other invisible format
characters are shown as visible ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN``
escapes.  Highlighting is added afterwards, by this module only.  The JSON
output escapes the same characters as JSON ``\\u`` escapes, so it stays
valid JSON that decodes to the very strings in the index.  One rule,
:func:`is_unsafe_for_terminal`, decides for both.

Public API:

* :func:`is_unsafe_for_terminal` (char) -> bool
* :func:`escape_terminal` (text) -> str
* :func:`escape_invisible` (text) -> str -- the same rule, line breaks and tabs kept (the web UI's)
* :func:`escape_json_text` (json_text) -> str -- the same rule for JSON text
* :func:`render_hits` (result, color) -> str
* :func:`render_json` (result) -> str (JSON whose every character is safe on a terminal);
  :func:`render_csv` (result) -> str
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata

from config.i18n import _
from search.exports.csv_export import safe_cell
from search.results import Hit, SearchResult
from search.unified import UnifiedResult

BOLD_YELLOW = "\x1b[1;33m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RESET = "\x1b[0m"
MAX_TITLE_CHARS = 200
MAX_SNIPPET_CHARS = 400


# Controls (C0, DEL, C1), format characters (bidi overrides and isolates,
# zero-width joiners, tags), surrogates, private use, line/paragraph separators.
UNSAFE_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))


def is_unsafe_for_terminal(char: str) -> bool:
    """True for a character that may not reach a terminal raw (see :data:`UNSAFE_CATEGORIES`)."""
    return unicodedata.category(char) in UNSAFE_CATEGORIES


def escape_terminal(text: str) -> str:
    """``text`` with every control or format character made visible; newlines and tabs become spaces."""
    out: list[str] = []
    for char in str(text):
        if char in "\n\r\t":
            out.append(" ")
            continue
        if is_unsafe_for_terminal(char):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
            continue
        out.append(char)
    return "".join(out)


def escape_invisible(text: str) -> str:
    """``text`` with every control or format character made visible as :func:`escape_terminal` does,
    but line breaks and tabs kept: for HTML, where they are plain white space (the web UI applies it
    to every value a template renders).  Printable text comes back as it is, at once."""
    if text.isprintable():
        return text
    return "".join(
        char if char in "\n\r\t" or not is_unsafe_for_terminal(char) else escape_terminal(char) for char in text
    )


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    # JSON has no escape above U+FFFF: a UTF-16 surrogate pair stands for it.
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def escape_json_text(json_text: str) -> str:
    """JSON text (as ``json.dumps`` wrote it) with every unsafe character as a ``\\u`` escape.

    ``json.dumps`` escapes C0 controls itself; DEL, C1 controls, bidi and other
    format characters it leaves raw.  Such a character can only sit inside a
    string there, where a ``\\u`` escape decodes back to it.  The newlines
    ``indent`` puts between values are structure, not text, and stay.
    """
    return "".join(
        _json_escape(char) if char != "\n" and is_unsafe_for_terminal(char) else char for char in json_text
    )


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


def _hit_lines(rank: int, hit: Hit, color: bool) -> list[str]:
    source = hit.source
    title = _clip(escape_terminal(hit.title or _("(no title)")), MAX_TITLE_CHARS)
    lines = ["", f"{rank:>3}. {BOLD + title + RESET if color else title}"]
    facts = []
    for label, key in ((_("market"), "market"), (_("vendor"), "vendor"), (_("coin"), "coin")):
        if source.get(key):
            facts.append(f"{label} {escape_terminal(source[key])}")
    if source.get("price_amount") is not None:
        facts.append(f"{source['price_amount']} {escape_terminal(source.get('price_currency') or '')}".strip())
    if facts:
        lines.append("     " + " · ".join(facts))
    where = []
    if source.get("onion_host"):
        where.append(_("onion {host}", host=escape_terminal(source["onion_host"])))
    when = source.get("fetched_at") or source.get("last_seen")
    if when:
        where.append(_("fetched {when}", when=escape_terminal(when)))
    if where:
        lines.append("     " + " · ".join(where))
    if source.get("url"):
        lines.append("     " + _clip(escape_terminal(source["url"]), 300))
    for segments in hit.snippets[:2]:
        text = _snippet(segments, color)
        if text:
            lines.append("     … " + text + " …")
    lines.append(f"     {DIM if color else ''}id {hit.id}{RESET if color else ''}")
    return lines


def _render_unified(result: UnifiedResult, color: bool) -> str:
    def shown(kind: str) -> str:
        return f"{result.counts[kind]}{'' if result.counts_exact[kind] else '+'}"

    total = f"{result.total}{'' if result.total_is_exact else '+'}"
    lines = [_("{total} results match {query} ({took_ms} ms): ", total=total, query=escape_terminal(result.query),
               took_ms=result.took_ms)
             + " · ".join(f"{_(kind)} {shown(kind)}" for kind in result.counts)]
    for kind, hits in result.hits.items():
        if not hits:
            continue
        lines.append("")
        heading = _("{label} ({count}); all of them: --kind {kind}", label=_(kind), count=shown(kind), kind=kind)
        lines.append(BOLD + heading + RESET if color else heading)
        for rank, hit in enumerate(hits, start=1):
            lines.extend(_hit_lines(rank, hit, color))
    return "\n".join(lines) + "\n"


def render_hits(result: SearchResult | UnifiedResult, color: bool = False) -> str:
    """The hits as numbered blocks, ranked as Elasticsearch returned them (per kind for a search over every kind)."""
    if isinstance(result, UnifiedResult):
        return _render_unified(result, color)
    total = f"{result.total}{'' if result.total_is_exact else '+'}"
    lines = [
        _("{total} {kind} match {query} ({took_ms} ms)", total=total, kind=_(result.kind),
          query=escape_terminal(result.query), took_ms=result.took_ms)
    ]
    for rank, hit in enumerate(result.hits, start=1):
        lines.extend(_hit_lines(rank, hit, color))
    if result.next_cursor:
        lines.append("")
        lines.append(_("more: --cursor {cursor}", cursor=result.next_cursor))
    return "\n".join(lines) + "\n"


def render_json(result: SearchResult | UnifiedResult) -> str:
    """The result as indented JSON; non-ASCII text stays readable, unsafe characters are ``\\u`` escapes."""
    return escape_json_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False)) + "\n"


CSV_COLUMNS = ("rank", "id", "kind", "title", "market", "vendor", "onion_host", "url", "fetched_at", "score", "snippet")


def render_csv(result: SearchResult | UnifiedResult) -> str:
    """The hits as CSV rows (every kind's top hits, each ranked within its kind, for a search over every kind)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    ranked = ([(rank, hit) for hits in result.hits.values() for rank, hit in enumerate(hits, start=1)]
              if isinstance(result, UnifiedResult) else list(enumerate(result.hits, start=1)))
    for rank, hit in ranked:
        source = hit.source
        snippet = " … ".join("".join(part["text"] for part in segments) for segments in hit.snippets)
        writer.writerow(
            [rank, hit.id, hit.kind, safe_cell(hit.title), safe_cell(source.get("market")), safe_cell(source.get("vendor")),
             safe_cell(source.get("onion_host")), safe_cell(source.get("url")),
             safe_cell(source.get("fetched_at") or source.get("last_seen")), hit.score, safe_cell(snippet)]
        )
    return buffer.getvalue()
