"""Renderers of the demo sites: one module per site, each with its own HTML structure.

Each module exposes ``render(world) -> RenderedSite`` (see :mod:`.markup`):
:mod:`.old_bazaar` (tables), :mod:`.nebula` (cards, JSON-LD, microdata),
:mod:`.tundra` (definition lists, Cyrillic labels), :mod:`.forum` (boards and
threads).  :data:`RENDERERS` maps each site name to its ``render``.
"""

from __future__ import annotations

from harness.demo.markets import forum, nebula, old_bazaar, tundra
from harness.demo.site_names import FORUM_NAME, NEBULA, OLD_BAZAAR, TUNDRA

RENDERERS = {
    OLD_BAZAAR: old_bazaar.render,
    NEBULA: nebula.render,
    TUNDRA: tundra.render,
    FORUM_NAME: forum.render,
}
