"""Substance tagging: which drugs, and which classes of drug, a listing names.

Public API:

* :class:`SubstanceLexicon` -- loaded from ``<config_dir>/substances.yml``:
  :meth:`SubstanceLexicon.load` (validates; raises
  :class:`config.errors.UserError` naming the file and the key),
  :meth:`SubstanceLexicon.find` -> list of :class:`SubstanceMatch`,
  :meth:`SubstanceLexicon.tag` -> (substance ids, class ids), both in order of
  first appearance and without repeats; an umbrella term ("spice") gives way
  to a specific substance of its class named in the same texts.
* :func:`default_lexicon` ``(config_dir=None)`` -> the lexicon of a config folder
  (default: the config package's), loaded once per process per file; the spider
  and ``onionscope extract`` pass ``settings.config_dir``.

Names match as whole words, case-insensitively, in any script: "4-MMC",
"Мефедрон", "MDMB-4en-PINACA".  A hyphen in a name also matches a space, a
Unicode hyphen or nothing ("4 MMC", "4MMC"); a space matches any run of
whitespace or a hyphen.  A Cyrillic stem written with a trailing ``~`` takes an
inflection ending of up to three letters ("мефедрона").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader when PyYAML was built with it: the tables load about ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from config import paths
from config.errors import UserError
from config.i18n import _
from config.os_reasons import os_reason
from config.located_yaml import yaml_error_line, yaml_problem

# The lexicon shipped with the config package.
DEFAULT_LEXICON = paths.substances_file()
_MAX_TEXT = 200_000
_HYPHENS = "-\u2010\u2011\u2012\u2013"
_WORD = re.compile(r"\w+")
_GAP = re.compile(f"[{_HYPHENS}\\s]{{1,3}}|,")
_CYRILLIC_ENDING = re.compile(r"[а-яё]+")


@dataclass(frozen=True)
class SubstanceMatch:
    substance: str
    substance_class: str
    matched_text: str
    start: int
    end: int


@dataclass(frozen=True)
class SubstanceClass:
    class_id: str
    label: str
    group: str


def _tokens(name: str) -> tuple[str, ...]:
    return tuple(token.casefold() for token in _WORD.findall(name))


def _spellings(name: str) -> list[tuple[str, ...]]:
    """Token tuples a name matches: as written, and with hyphenated parts run together."""
    tokens = _tokens(name)
    spellings = [tokens]
    if len(tokens) > 1 and any(char in _HYPHENS for char in name):
        joined: list[str] = []
        for piece in re.split(r"\s+", name.strip()):
            joined.append("".join(_tokens(piece)))
        spellings.append(tuple(token for token in joined if token))
    return spellings


class SubstanceLexicon:
    """Substances, their classes and every name that refers to them.

    Matching works on word tokens (Unicode ``\\w+``), so it costs one dict
    look-up per word of text rather than a regex alternation of every name.
    """

    def __init__(
        self,
        classes: dict[str, SubstanceClass],
        names: dict[str, str],
        substance_class: dict[str, str],
        umbrella: frozenset[str] = frozenset(),
    ):
        self.classes = classes
        self.substance_class = substance_class
        self.umbrella = umbrella
        # token tuple -> substance; stems keep their last token as a stem.
        self._exact: dict[tuple[str, ...], str] = {}
        self._stems: dict[tuple[str, ...], str] = {}
        self._longest_from: dict[str, int] = {}
        for name, substance in names.items():
            is_stem = name.endswith("~")
            for spelling in _spellings(name.rstrip("~")):
                if not spelling:
                    continue
                (self._stems if is_stem else self._exact).setdefault(spelling, substance)
                first = spelling[0]
                self._longest_from[first] = max(self._longest_from.get(first, 0), len(spelling))
        self._stem_lengths = {len(spelling[-1]) for spelling in self._stems}

    @classmethod
    def load(cls, path: Path = DEFAULT_LEXICON) -> "SubstanceLexicon":
        """Read and validate the lexicon; raises UserError naming the file and the key."""
        try:
            data: Any = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        except OSError as exc:
            raise UserError(_("{path}: cannot read the substance lexicon ({reason})", path=path,
                              reason=os_reason(exc))) from None
        except yaml.YAMLError as exc:
            line = yaml_error_line(exc) if getattr(exc, "problem_mark", None) is not None else None
            if line:
                raise UserError(_("{path}: not valid YAML at line {line}: {problem}", path=path, line=line,
                                  problem=yaml_problem(exc))) from None
            raise UserError(_("{path}: not valid YAML: {problem}", path=path, problem=yaml_problem(exc))) from None
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: Any, source: str = "<lexicon>") -> "SubstanceLexicon":
        if not isinstance(data, dict):
            raise UserError(_("{source}: expected a mapping with 'classes' and 'substances'", source=source))
        raw_classes, raw_substances = data.get("classes"), data.get("substances")
        if not isinstance(raw_classes, dict) or not raw_classes:
            raise UserError(_("{source}: classes: expected a mapping of class id -> {label, group}", source=source))
        if not isinstance(raw_substances, dict) or not raw_substances:
            raise UserError(_("{source}: substances: expected a mapping of substance id -> {class, names}", source=source))
        classes: dict[str, SubstanceClass] = {}
        for class_id, spec in raw_classes.items():
            if not isinstance(spec, dict) or not isinstance(spec.get("label"), str):
                raise UserError(_("{source}: classes.{class_id}: expected {label: ..., group: ...}", source=source,
                                  class_id=class_id))
            classes[str(class_id)] = SubstanceClass(str(class_id), spec["label"], str(spec.get("group", "")))
        names: dict[str, str] = {}
        substance_class: dict[str, str] = {}
        umbrella: set[str] = set()
        for substance, spec in raw_substances.items():
            substance = str(substance)
            if not isinstance(spec, dict):
                raise UserError(_("{source}: substances.{substance}: expected {class: ..., names: [...]}", source=source,
                                  substance=substance))
            class_id = spec.get("class")
            if class_id not in classes:
                raise UserError(_("{source}: substances.{substance}.class: unknown class {class_id}", source=source,
                                  substance=substance, class_id=repr(class_id)))
            spec_names = spec.get("names")
            if not isinstance(spec_names, list) or not spec_names:
                raise UserError(_("{source}: substances.{substance}.names: expected a non-empty list", source=source,
                                  substance=substance))
            substance_class[substance] = class_id
            if spec.get("umbrella", False) not in (True, False):
                raise UserError(_("{source}: substances.{substance}.umbrella: expected true or false", source=source,
                                  substance=substance))
            if spec.get("umbrella"):
                umbrella.add(substance)
            unknown = set(spec) - {"class", "names", "umbrella"}
            if unknown:
                raise UserError(_("{source}: substances.{substance}: unknown key {key}", source=source, substance=substance,
                                  key=repr(sorted(unknown)[0])))
            for name in spec_names:
                name = str(name).strip()
                if len(name.rstrip("~")) < 2:
                    raise UserError(_("{source}: substances.{substance}.names: {name} is too short to match safely",
                                      source=source, substance=substance, name=repr(name)))
                key = name.casefold()
                if key in names and names[key] != substance:
                    raise UserError(_("{source}: substances.{substance}.names: {name} is already a name of {other}",
                                      source=source, substance=substance, name=repr(name), other=repr(names[key])))
                names[key] = substance
        return cls(classes, names, substance_class, frozenset(umbrella))

    def find(self, text: str | None) -> list[SubstanceMatch]:
        """Every name occurrence in ``text`` (first 200,000 characters), longest name first."""
        if not text:
            return []
        text = text[:_MAX_TEXT]
        words = list(_WORD.finditer(text))
        folded = [word.group().casefold() for word in words]
        matches: list[SubstanceMatch] = []
        index = 0
        longest_from = self._longest_from
        while index < len(words):
            word = folded[index]
            # Fast path: most words start no name and cannot be an inflected Cyrillic stem.
            if word not in longest_from and not ("а" <= word[-1] <= "я" or word[-1] == "ё"):
                index += 1
                continue
            found = self._match_at(text, words, folded, index)
            if found is None:
                index += 1
                continue
            substance, length = found
            start, end = words[index].start(), words[index + length - 1].end()
            matches.append(SubstanceMatch(substance, self.substance_class[substance], text[start:end], start, end))
            index += length
        return matches

    def _match_at(
        self, text: str, words: list[re.Match[str]], folded: list[str], index: int
    ) -> tuple[str, int] | None:
        first = folded[index]
        longest = self._longest_from.get(first, 0)
        if longest == 0:
            longest = 1 if self._stems and self._stem_candidates(first) else 0
        for length in range(min(longest, len(words) - index), 0, -1):
            last = index + length - 1
            # Words of one name are separated by spaces, hyphens or a comma ("N,N-DMT") only.
            if any(not _GAP.fullmatch(text[words[i].end():words[i + 1].start()]) for i in range(index, last)):
                continue
            key = tuple(folded[index:last + 1])
            substance = self._exact.get(key)
            if substance is not None:
                return substance, length
            for stem in self._stem_candidates(key[-1]):
                substance = self._stems.get(key[:-1] + (stem,))
                if substance is not None:
                    return substance, length
        return None

    def _stem_candidates(self, word: str) -> list[str]:
        """``word`` and ``word`` without an inflection ending of up to three Cyrillic letters."""
        candidates = []
        for cut in range(0, 4):
            stem = word[: len(word) - cut] if cut else word
            if cut and not _CYRILLIC_ENDING.fullmatch(word[len(word) - cut:]):
                break
            if len(stem) in self._stem_lengths:
                candidates.append(stem)
        return candidates

    def tag(self, *texts: str | None) -> tuple[list[str], list[str]]:
        """(substance ids, class ids) named in ``texts``, in order of first appearance.

        An umbrella term ("spice", "nitazene") is dropped when a specific
        substance of its class is named too: "MDMB-4en-PINACA (spice)" is one
        substance, not two.
        """
        substances: list[str] = []
        for text in texts:
            for match in self.find(text):
                if match.substance not in substances:
                    substances.append(match.substance)
        specific_classes = {self.substance_class[s] for s in substances if s not in self.umbrella}
        substances = [
            s for s in substances if s not in self.umbrella or self.substance_class[s] not in specific_classes
        ]
        classes: list[str] = []
        for substance in substances:
            if self.substance_class[substance] not in classes:
                classes.append(self.substance_class[substance])
        return substances, classes


def default_lexicon(config_dir: str | Path | None = None) -> SubstanceLexicon:
    """The lexicon in ``<config_dir>/substances.yml`` (default: the config package's).

    Loaded once per process per file; raises UserError as :meth:`SubstanceLexicon.load`.
    """
    return _lexicon_at(paths.substances_file(config_dir))


@lru_cache(maxsize=8)
def _lexicon_at(path: Path) -> SubstanceLexicon:
    return SubstanceLexicon.load(path)
