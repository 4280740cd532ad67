"""The language of a page's text, as an ISO 639-1 code with a confidence.

Public API:

* :func:`detect_language` -> :class:`LanguageGuess` (``code`` is None when the
  text is too short or the guess too unsure to be useful).

Uses py3langid (a naive Bayes model over byte n-grams, 97 languages).  The
model is loaded on first use, not at import time (it takes about half a
second), and shared by every call in the process.  Only the first
``max_chars`` characters are classified: a page's language is settled long
before its end, and this bounds the cost of a hostile page.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

# Fewer letters than this say little about a language ("Login", "BTC 0.01").
MIN_LETTERS = 20
MIN_CONFIDENCE = 0.5
MAX_CHARS = 1_500

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# py3langid returns a few codes that are not ISO 639-1; fold them.
_ALIASES = {"srl": "sr"}
_identifier: Any = None
_identifier_lock = threading.Lock()


@dataclass(frozen=True)
class LanguageGuess:
    code: str | None
    confidence: float


def _model() -> Any:
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def detect_language(
    text: str | None,
    min_letters: int = MIN_LETTERS,
    min_confidence: float = MIN_CONFIDENCE,
    max_chars: int = MAX_CHARS,
) -> LanguageGuess:
    """Guess the language of ``text``.

    Returns ``LanguageGuess(None, 0.0)`` for empty text or text with fewer than
    ``min_letters`` letters, and ``LanguageGuess(None, confidence)`` when the
    best guess is below ``min_confidence``.
    """
    if not text:
        return LanguageGuess(None, 0.0)
    sample = text[:max_chars]
    if len(_LETTER.findall(sample[:2_000])) < min_letters:
        return LanguageGuess(None, 0.0)
    code, confidence = _model().classify(sample)
    confidence = float(confidence)
    if confidence < min_confidence:
        return LanguageGuess(None, round(confidence, 4))
    code = _ALIASES.get(code, code)
    if len(code) != 2:
        # The model also answers non-languages ("zxx": no linguistic content);
        # only ISO 639-1 codes are languages here.
        return LanguageGuess(None, round(confidence, 4))
    return LanguageGuess(code, round(confidence, 4))
