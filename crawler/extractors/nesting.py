"""Deeply nested HTML made readable: elements past a depth are flattened, their text kept.

libxml2 (lxml, parsel) stops building the tree at 2048 levels of nesting (256 without
``huge_tree``) and drops *everything after that point*: a page that opens 2049 ``<div>`` s
first hides its whole text, links and wallet addresses from the index while a browser still
shows them (browsers flatten past a depth instead).  :func:`flatten_deep_nesting` does what a
browser does before the page is parsed.

Public API:

* :func:`flatten_deep_nesting(html)` -> ``(html, flattened)``: ``html`` unchanged when its
  nesting never passes :data:`TRIGGER_DEPTH`; otherwise every start and end tag deeper than
  :data:`KEEP_DEPTH` is replaced by a space (text and shallower markup stay as they were), and
  ``flattened`` is True.

Depth is counted from the tags alone, in one linear pass (a regex that stops at the next
``<``, so no input makes it backtrack): void elements, self-closing tags and elements whose
end tag HTML implies (``p``, ``li``, ``td``...) do not nest, so an ordinary page never gets
near the trigger.  Pages with fewer tags than the trigger are not scanned at all.
"""

from __future__ import annotations

import re

#: nesting (as counted here) past which a page is flattened; below libxml2's 2048.
TRIGGER_DEPTH = 1024
#: tags deeper than this are dropped when a page is flattened (Blink flattens at 512 too).
KEEP_DEPTH = 512

# A start or end tag; the attribute part stops at the next "<" or ">", so a scan is linear.
_NOT_NESTING = frozenset(
    """
    area base br col embed hr img input link meta param source track wbr keygen
    p li dt dd tr td th option optgroup thead tbody tfoot colgroup rb rt rtc rp
    """.split()
)
# The regular expression itself passes over the tags that never nest (a negative look-ahead
# on their whole name, any case), so the commonest tags of a page (p, li, td, br) cost no
# Python step; the loop below still checks the name, which keeps the two in agreement.
_TAG = re.compile(
    r"<(/?)(?!(?i:" + "|".join(sorted(_NOT_NESTING)) + r")(?![A-Za-z0-9:-]))"
    r"([A-Za-z][A-Za-z0-9:-]{0,63})[^<>]*?(/?)>"
)


def _depths(html: str):  # type: ignore[no-untyped-def]
    """Yield (match, depth before the tag, opens) for every nesting tag of ``html``."""
    depth = 0
    for match in _TAG.finditer(html):
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if name in _NOT_NESTING or self_closing:
            continue
        if closing:
            yield match, depth, False
            depth = max(0, depth - 1)
        else:
            yield match, depth, True
            depth += 1


def _passes(html: str, trigger_depth: int) -> bool:
    """True when the nesting of ``html`` (as :func:`_depths` counts it) passes ``trigger_depth``.

    The same count as :func:`_depths` without its match objects: most pages are only checked.
    """
    depth = 0
    for closing, name, self_closing in _TAG.findall(html):
        if self_closing or name.lower() in _NOT_NESTING:
            continue
        if closing:
            depth = max(0, depth - 1)
        else:
            depth += 1
            if depth > trigger_depth:
                return True
    return False


def flatten_deep_nesting(html: str, keep_depth: int = KEEP_DEPTH, trigger_depth: int = TRIGGER_DEPTH) -> tuple[str, bool]:
    """``(html with tags past keep_depth replaced by spaces, True)`` when the nesting passes
    ``trigger_depth``; else ``(html, False)`` unchanged.  Never raises."""
    if html.count("<") <= trigger_depth:
        return html, False
    if not _passes(html, trigger_depth):
        return html, False
    pieces: list[str] = []
    last = 0
    for match, depth, opens in _depths(html):
        # A start tag at depth d makes level d + 1; its end tag closes that level.
        if (depth + 1 if opens else depth) > keep_depth:
            pieces.append(html[last:match.start()])
            pieces.append(" ")
            last = match.end()
    pieces.append(html[last:])
    return "".join(pieces), True
