"""Country names, codes and flags -> ISO 3166-1 alpha-2 codes.

Public API:

* :func:`normalise_country` -> "DE" or None: one country written any way a
  market writes it ("Germany", "DEU", "de", "Deutschland", "Германия", "🇩🇪").
* :func:`parse_countries` -> ["NL", "DE"]: a list as a "Ships to" field
  writes it ("Netherlands, Germany & EU", "Worldwide except USA").
* :data:`WORLDWIDE` ("WW") and :data:`EUROPEAN_UNION` ("EU").
* :func:`load_country_table` ``(path=None)`` -> the spelling table from a
  ``<config_dir>/countries.yml`` (default: the config package's), read once per
  process per file.  ``normalise_country`` and ``parse_countries`` take that
  table as ``table`` (default: the config package's); the spider and
  ``onionscope extract`` pass the one of ``settings.config_dir``.

Decisions (also in the YAML's header):

* "EU", "Europe", "Schengen" -> ``EU``, ISO 3166-1's exceptionally reserved code
  for the European Union; it is not expanded to member states, so a search for
  ``ships_to:EU`` finds exactly the listings that said so.
* "Worldwide", "World", "Anywhere", "International" -> ``WW``.  ISO 3166-1 has
  no code for the world; WW is what shipping data (and the demo ground truth)
  use, and ISO has never assigned it to a country.
* Exclusions ("Worldwide except USA") keep only what precedes "except" /
  "excluding" / "but not": the field records where a vendor ships to, and an
  exclusion is not a destination.

Raises :class:`config.errors.UserError` only when the table file itself is
unreadable; parsing functions never raise on odd input.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Mapping

import yaml

# libyaml's loader when PyYAML was built with it: the tables load about ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from config import paths
from config.errors import UserError
from config.i18n import _
from config.os_reasons import os_reason

WORLDWIDE = "WW"
EUROPEAN_UNION = "EU"
# The table shipped with the config package (used when no table is passed).
DEFAULT_TABLE = paths.countries_file()

_SPLIT = re.compile(r"\s*(?:[,;/|+&\n\u2022·]|\s(?:and|и|und|et)\s)\s*", re.IGNORECASE)
_EXCLUSION = re.compile(r"\b(?:except|excluding|excl\.?|but not|not to|кроме)\b", re.IGNORECASE)
_LABEL_NOISE = re.compile(r"^(?:ships?\s+(?:from|to)|from|to|origin|destination)\s*[:\-]?\s*", re.IGNORECASE)
_REGIONAL_INDICATOR_A = 0x1F1E6


def _key(text: str) -> str:
    """Case-, accent- and punctuation-insensitive lookup key."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    without_marks = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.sub(r"[.'’()\-_]", " ", without_marks).split())


def load_country_table(path: Path | None = None) -> dict[str, str]:
    """Spelling key -> alpha-2 code, from a ``countries.yml`` (default :data:`DEFAULT_TABLE`).

    Read once per process per file.  Raises UserError if the file is missing
    or not the expected shape.
    """
    return _load_country_table(Path(path) if path is not None else DEFAULT_TABLE)


@lru_cache(maxsize=8)
def _load_country_table(path: Path) -> dict[str, str]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(_("{path}: cannot read the country table ({problem}); restore it from git", path=path,
                          problem=os_reason(exc) if isinstance(exc, OSError) else exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("countries"), dict):
        raise UserError(_("{path}: expected 'countries:' mapping alpha-2 codes to spellings", path=path))
    table: dict[str, str] = {}
    for section in ("countries", "special"):
        for code, spellings in (data.get(section) or {}).items():
            code = str(code).upper()
            if not re.fullmatch(r"[A-Z]{2}", code) or not isinstance(spellings, list):
                raise UserError(_("{path}: {section}.{code}: expected a two-letter code and a list of spellings", path=path,
                                  section=section, code=code))
            table.setdefault(_key(code), code)
            for spelling in spellings:
                table.setdefault(_key(str(spelling)), code)
    return table


def _flag_code(text: str) -> str | None:
    """"🇩🇪" -> "DE" (two regional-indicator symbols)."""
    if len(text) == 2 and all(_REGIONAL_INDICATOR_A <= ord(char) <= _REGIONAL_INDICATOR_A + 25 for char in text):
        return "".join(chr(ord(char) - _REGIONAL_INDICATOR_A + ord("A")) for char in text)
    return None


def normalise_country(text: str | None, table: Mapping[str, str] | None = None) -> str | None:
    """The alpha-2 code of one country (or ``EU`` / ``WW``); None if unknown.

    ``table`` is a :func:`load_country_table` (default: the config package's).
    """
    if not text:
        return None
    stripped = _LABEL_NOISE.sub("", text.strip())[:80]
    flag = _flag_code(stripped)
    if flag:
        return flag
    return (table if table is not None else load_country_table()).get(_key(stripped))


def parse_countries(text: str | None, limit: int = 60, table: Mapping[str, str] | None = None) -> list[str]:
    """Distinct codes of the countries listed in ``text``, in order; unknown names are skipped."""
    if not text:
        return []
    text = _LABEL_NOISE.sub("", text.strip()[:2_000])
    text = _EXCLUSION.split(text, maxsplit=1)[0]
    codes: list[str] = []
    for part in _SPLIT.split(text):
        part = part.strip(" .:-()[]")
        if not part:
            continue
        code = normalise_country(part, table)
        if code is None:
            # "Flags" rendered side by side: "🇩🇪🇳🇱".
            indicators = [char for char in part if _REGIONAL_INDICATOR_A <= ord(char) <= _REGIONAL_INDICATOR_A + 25]
            for index in range(0, len(indicators) - 1, 2):
                flag = _flag_code(indicators[index] + indicators[index + 1])
                if flag and flag not in codes:
                    codes.append(flag)
            continue
        if code not in codes:
            codes.append(code)
        if len(codes) >= limit:
            break
    return codes
