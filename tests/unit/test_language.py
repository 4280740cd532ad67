"""Language detection: ISO 639-1 code and confidence; no guess for short text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from crawler.extractors.language import LanguageGuess, detect_language


@pytest.mark.parametrize(
    "text, code",
    [
        ("High quality product shipped from the Netherlands with stealth packaging and tracking.", "en"),
        ("Продаю товар высокого качества, доставка по всей России и странам СНГ без предоплаты.", "ru"),
        ("Hochwertige Ware aus den Niederlanden, Versand nach ganz Europa mit Sendungsverfolgung.", "de"),
        ("Produit de haute qualité, livraison discrète partout en Europe avec numéro de suivi.", "fr"),
    ],
)
def test_detects_language_with_confidence(text: str, code: str) -> None:
    guess = detect_language(text)
    assert guess.code == code
    assert 0.5 <= guess.confidence <= 1.0


@pytest.mark.parametrize("text", [None, "", "Login", "BTC 0.0021 / 120 USD", "   \n\t  "])
def test_short_or_empty_text_has_no_guess(text: str | None) -> None:
    assert detect_language(text) == LanguageGuess(None, 0.0)


def test_unsure_guess_has_no_code_but_keeps_confidence() -> None:
    guess = detect_language("qwrtz plkmn xvbnm " * 3, min_confidence=0.999)
    assert guess.code is None
    assert 0.0 < guess.confidence < 0.999


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=500))
def test_never_crashes(text: str) -> None:
    guess = detect_language(text)
    assert guess.code is None or (len(guess.code) == 2 and guess.code.islower())
    assert 0.0 <= guess.confidence <= 1.0


def test_no_linguistic_content_is_no_language() -> None:
    # py3langid answers "zxx" for this (found by the property test below).
    guess = detect_language("AAAAAAAQNAAOQa\u00b9\u0126\U0001d54a\U0001d566\U0001d567\U0001d593")
    assert guess.code is None
    assert 0.0 < guess.confidence <= 1.0
