"""The pages need nothing the CSP forbids, and load nothing from anywhere but the app.

The CSP (search/api/security_headers.py) allows no script and no inline
style, and only the app's own origin for styles and images.  These checks
read the templates and the stylesheet, so a template that adds an inline
script, a style attribute, a font or a CDN link fails here before any browser
does; tests/integration/test_browser.py records what a real browser requests.
"""

from __future__ import annotations

import re
from pathlib import Path

SEARCH = Path(__file__).resolve().parents[2] / "search"
TEMPLATES = sorted((SEARCH / "templates").glob("*.html"))
STATIC = sorted(path for path in (SEARCH / "static").rglob("*") if path.is_file())


def test_templates_have_no_script_no_inline_style_and_no_event_handlers():
    assert TEMPLATES
    for path in TEMPLATES:
        text = path.read_text()
        assert not re.search(r"<script", text, re.I), path.name
        assert not re.search(r"<style", text, re.I), path.name
        assert not re.search(r"\sstyle\s*=", text, re.I), path.name
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), path.name
        assert "javascript:" not in text.lower(), path.name


def test_nothing_is_loaded_from_another_origin():
    # No CDN, web font or favicon from elsewhere: every URL in a template or the stylesheet is a path.
    for path in [*TEMPLATES, *STATIC]:
        text = path.read_text(errors="replace")
        assert not re.search(r"(?:https?:)?//[A-Za-z0-9]", re.sub(r"/\*.*?\*/", "", text, flags=re.S)), path.name
        assert "@import" not in text and "@font-face" not in text, path.name
        for url in re.findall(r"""(?:href|src|action)\s*=\s*["']([^"'{]+)""", text):
            assert url.startswith(("/", "#")) and not url.startswith("//"), (path.name, url)
