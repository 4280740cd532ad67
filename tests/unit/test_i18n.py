"""English and Russian: every message has its translation, the language is chosen as documented,
and crawled text is never translated.  (Every page rendered in both languages from real data:
tests/integration/test_api.py::test_every_page_in_both_languages.)"""

from __future__ import annotations

import pytest

from config import i18n
from config.errors import UserError
from search.api.context import build_template_environments, build_templates
from search.api.translation import PROJECT_VALUES, missing_messages, request_language
from tests import PROJECT_ROOT


def test_every_message_of_the_code_and_the_templates_has_a_russian_translation() -> None:
    messages = i18n.project_messages(PROJECT_ROOT)
    catalogue = i18n.translator("ru").messages
    untranslated = {message: places[:2] for message, places in messages.items() if not catalogue.get(message)}
    assert not untranslated, f"run `python -m config.i18n update`, then translate in config/locale/ru.po: {untranslated}"
    # The extraction finds what it should: template text nodes, _() in templates, Python calls.
    assert "No results." in messages and "(no title)" in messages and "onionscope: error: {message}" in messages
    assert set(PROJECT_VALUES) <= set(messages)


def test_every_template_compiles_in_russian_with_nothing_left_in_english() -> None:
    environments = build_template_environments()
    for name in environments["ru"].list_templates(extensions=["html"]):
        environments["ru"].get_template(name)
    assert missing_messages(environments) == {"ru": set()}


def test_text_nodes_are_told_from_markup_across_template_pieces() -> None:
    scanner = i18n.TextNodeScanner()
    pieces = scanner.feed('<a class="x" title="a > b" href="') + scanner.feed('">Next page</a> <code>--lang ru</code> ok')
    texts = [piece for is_text, piece in pieces if is_text and i18n.is_message(piece)]
    assert texts == ["Next page", " ok"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-US,en;q=0.9,ru;q=0.8", "en"),
        ("de-DE,de;q=0.9", "en"),
        ("ru;q=0, en", "en"),
        ("de, ru;q=0.5", "ru"),
        ("kk-KZ, ru;q=0.8", "ru"),
        (";;;q=x,,", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_accept_language_picks_ours(header: str | None, expected: str) -> None:
    assert i18n.negotiate(header) == expected


def test_choice_order_is_explicit_then_setting_then_browser_or_environment() -> None:
    assert i18n.choose_language("ru", "en") == "ru"
    assert i18n.choose_language(None, "ru", accept_language="en") == "ru"
    assert i18n.choose_language(None, "auto", accept_language="ru-RU") == "ru"
    assert i18n.choose_language(None, "auto", environ={"LANG": "ru_RU.UTF-8"}) == "ru"
    assert i18n.choose_language(None, "auto", environ={"LC_ALL": "C.UTF-8", "LANG": "ru_RU.UTF-8"}) == "en"
    assert i18n.choose_language(None, "auto", environ={}) == "en"
    with pytest.raises(UserError, match="unknown language 'de'"):
        i18n.choose_language("de", "auto")
    # The UI ignores a ?lang= it does not know instead of failing the page.
    assert request_language("xx", "ru", "auto") == "ru"
    assert request_language("en", "ru", "auto") == "en"


def test_parameters_fill_in_after_translating_and_are_never_translated_or_re_read() -> None:
    ru = i18n.translator("ru")
    assert ru.gettext("onionscope: error: {message}", message="Search {message}") == "onionscope: ошибка: Search {message}"
    assert ru.gettext("A message nobody wrote") == "A message nobody wrote"
    assert ru.missing == {"A message nobody wrote"}
    assert i18n.translator("en").gettext("No results.") == "No results."


def test_crawled_text_is_never_translated_and_stays_escaped() -> None:
    template = build_templates("ru").from_string(
        "<h1>No results.</h1><p>{{ title }}</p><p>{{ kind|label }} {{ market|label }}</p>"
    )
    html = template.render(title="No results. <b>", kind="listings", market="Search")
    assert html == "<h1>Ничего не найдено.</h1><p>No results. &lt;b&gt;</p><p>объявления Search</p>"


def test_a_catalogue_entry_with_markup_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    poisoned = i18n.Translator("ru", {"No results.": '<img src="http://x.onion/a.png">'})
    monkeypatch.setattr(i18n, "translator", lambda language: poisoned if language == "ru" else i18n.Translator("en", {}))
    import search.api.translation as translation

    monkeypatch.setattr(translation, "translator", i18n.translator)
    html = build_templates("ru").from_string("<p>No results.</p>").render()
    assert html == "<p>No results.</p>"


def test_the_command_speaks_the_chosen_language(tmp_path, capsys) -> None:
    from onionscope.cli import main

    broken = tmp_path / "onionscope.yml"
    broken.write_text("serve_prot: 1\n", encoding="utf-8")
    try:
        assert main(["--lang", "ru", "--config", str(broken), "search", "x"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("onionscope: ошибка: ") and "serve_prot" in err
        assert main(["--lang", "en", "--config", str(broken), "search", "x"]) == 1
        assert capsys.readouterr().err.startswith("onionscope: error: ")
    finally:
        i18n.set_cli_language("en")


def test_the_labels_of_site_types_and_mirror_groups_are_the_projects_own() -> None:
    from config.site_types import SITE_TYPES
    from pipelines.onion_sites import LABELS
    from search.api.translation import VALUE_LABELS

    assert VALUE_LABELS["site_type"] == dict(SITE_TYPES)
    assert set(VALUE_LABELS["mirror_group"]) == set(LABELS)
    ru = build_templates("ru").from_string('{{ "forum"|label("site_type") }}/{{ "forum"|label("market") }}/{{ "site_type"|label }}')
    assert ru.render() == "форум/forum/тип сайта"
