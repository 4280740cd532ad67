"""Terminal output: hostile crawled text is neutralised; hits show host, time and highlights."""

from __future__ import annotations

import csv
import io
import json

from search.cli_output import escape_terminal, render_csv, render_hits, render_json
from search.results import Hit, SearchResult


def result_with(title: str, snippet_text: str) -> SearchResult:
    hit = Hit(
        id="abc",
        kind="pages",
        title=title,
        score=1.5,
        source={"onion_host": "x" * 56 + ".onion", "fetched_at": "2026-01-05T10:00:00Z", "url": "http://x.onion/a",
                "market": "alpha"},
        snippets=[[{"text": "before ", "hit": False}, {"text": "fentanyl", "hit": True},
                   {"text": snippet_text, "hit": False}]],
    )
    return SearchResult(query="fentanyl", kind="pages", sort="relevance", total=1, total_is_exact=True, hits=[hit],
                        facets={}, next_cursor="CUR")


def test_escape_terminal_makes_controls_visible():
    assert escape_terminal("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert escape_terminal("evil\u202egnp.exe") == "evil\\u202egnp.exe"
    assert escape_terminal("bell\x07") == "bell\\x07"
    assert escape_terminal("line\nbreak\ttab") == "line break tab"
    assert escape_terminal("c1\x9b31m") == "c1\\x9b31m"
    assert escape_terminal("plain ünïcode") == "plain ünïcode"


def test_render_hits_contains_no_raw_escape_from_crawled_text():
    text = render_hits(result_with("title\x1b]0;pwned\x07", " after\x1b[31m red"), color=False)
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;pwned\\x07" in text
    assert "before [fentanyl] after" in text
    assert "x" * 56 + ".onion" in text
    assert "fetched 2026-01-05T10:00:00Z" in text
    assert "--cursor CUR" in text


def test_render_hits_color_only_adds_our_own_sequences():
    text = render_hits(result_with("t", " after\x1b[31m"), color=True)
    # Ours: bold/yellow/reset/dim; theirs would be [31m preceded by a raw ESC.
    assert "\x1b[31m" not in text
    assert "\x1b[1;33mfentanyl\x1b[0m" in text


def test_json_and_csv_outputs():
    result = result_with("=cmd|' /C calc'!A0", " x")
    document = json.loads(render_json(result))
    assert document["hits"][0]["id"] == "abc"
    rows = list(csv.DictReader(io.StringIO(render_csv(result))))
    assert rows[0]["title"].startswith("'=")
    assert rows[0]["onion_host"].endswith(".onion")


# C1 CSI, DEL, bidi override and isolate, zero-width joiner, line separator,
# a tag character (above U+FFFF) and a lone surrogate.
HOSTILE_CHARACTERS = ["\x9b", "\x7f", "\u202e", "\u2067", "\u200d", "\u2028", "\U000E0041", "\ud800"]


def test_json_output_escapes_c1_and_bidi_and_decodes_to_the_same_strings():
    title = "evil" + "".join(HOSTILE_CHARACTERS) + "gnp.exe ünïcode 日本"
    result = result_with(title, " after\x9b31m\u202e")
    text = render_json(result)
    for char in HOSTILE_CHARACTERS:
        assert char not in text, repr(char)
    assert "\\u009b" in text and "\\u202e" in text and "\\udb40\\udc41" in text
    assert "ünïcode 日本" in text  # readable text stays readable
    document = json.loads(text)
    assert document["hits"][0]["title"] == title
    assert document == json.loads(json.dumps(result.to_json()))


def test_escape_terminal_above_the_basic_plane_is_unambiguous():
    assert escape_terminal("a\U000E0041b") == "a\\U000e0041b"


def test_the_web_ui_shows_invisible_characters_as_visible_escapes_and_keeps_markup() -> None:
    import markupsafe

    from search.api.context import build_templates
    from search.cli_output import escape_invisible

    assert escape_invisible("plain title") == "plain title"
    assert escape_invisible("a\x1b[2J\u202eb\u200b\x9bc\nd\te") == "a\\x1b[2J\\u202eb\\u200b\\x9bc\nd\te"
    template = build_templates().from_string("<h1>{{ title }}</h1>{{ markup }}")
    html = template.render(title="Donate \u202egnp.exe <script>x</script>\x07", markup=markupsafe.Markup("<i>ok\u200b</i>"))
    assert html == "<h1>Donate \\u202egnp.exe &lt;script&gt;x&lt;/script&gt;\\x07</h1><i>ok\\u200b</i>"
