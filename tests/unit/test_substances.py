"""Substance lexicon: loading and validation, whole-word Unicode matching, synonyms."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from crawler.extractors.substances import DEFAULT_LEXICON, SubstanceLexicon, default_lexicon
from config.errors import UserError


@pytest.fixture(scope="module")
def lexicon() -> SubstanceLexicon:
    return default_lexicon()


@pytest.mark.parametrize(
    "text, substance, substance_class",
    [
        ("Мефедрон кристаллы 1г", "mephedrone", "synthetic_cathinones"),
        ("мефедрона оптом", "mephedrone", "synthetic_cathinones"),
        ("меф VHQ", "mephedrone", "synthetic_cathinones"),
        ("Premium 4-MMC crystals", "mephedrone", "synthetic_cathinones"),
        ("4MMC", "mephedrone", "synthetic_cathinones"),
        ("3-MMC shards", "3-mmc", "synthetic_cathinones"),
        ("3-CMC", "3-cmc", "synthetic_cathinones"),
        ("4-CMC", "4-cmc", "synthetic_cathinones"),
        ("α-PVP rocks", "alpha-pvp", "synthetic_cathinones"),
        ("соль крис", "alpha-pvp", "synthetic_cathinones"),
        ("Flakka", "alpha-pvp", "synthetic_cathinones"),
        ("MDPV", "mdpv", "synthetic_cathinones"),
        ("NEP crystals", "nep", "synthetic_cathinones"),
        ("Спайс мощный", "spice", "synthetic_cannabinoids"),
        ("MDMB-4en-PINACA 1kg", "mdmb-4en-pinaca", "synthetic_cannabinoids"),
        ("ADB-BUTINACA", "adb-butinaca", "synthetic_cannabinoids"),
        ("5F-ADB", "5f-adb", "synthetic_cannabinoids"),
        ("Fentanyl patches", "fentanyl", "fentanyl_analogues"),
        ("Carfentanil", "carfentanil", "fentanyl_analogues"),
        ("acetylfentanyl", "acetylfentanyl", "fentanyl_analogues"),
        ("Isotonitazene powder", "isotonitazene", "nitazenes"),
        ("protonitazene", "protonitazene", "nitazenes"),
        ("Metonitazene", "metonitazene", "nitazenes"),
        ("Heroin #4", "heroin", "other_opioids"),
        ("Etizolam 1mg", "etizolam", "designer_benzodiazepines"),
        ("bromazolam pellets", "bromazolam", "designer_benzodiazepines"),
        ("Flualprazolam", "flualprazolam", "designer_benzodiazepines"),
        ("Ketamine needles", "ketamine", "dissociatives"),
        ("2F-DCK", "2-fdck", "dissociatives"),
        ("2-FDCK", "2-fdck", "dissociatives"),
        ("crystal meth", "methamphetamine", "amphetamines"),
        ("N,N-DMT", "dmt", "psychedelics"),
    ],
)
def test_names_tag_substance_and_class(lexicon: SubstanceLexicon, text: str, substance: str, substance_class: str) -> None:
    substances, classes = lexicon.tag(text)
    assert substance in substances
    assert substance_class in classes
    assert lexicon.substance_class[substance] == substance_class


@pytest.mark.parametrize(
    "text",
    ["price list", "metaphor", "fentanylx", "xmephedrone", "сольный концерт", "Iceland", "methodology", ""],
)
def test_only_whole_words_match(lexicon: SubstanceLexicon, text: str) -> None:
    assert lexicon.find(text) == []


def test_longest_name_wins_and_positions_are_exact(lexicon: SubstanceLexicon) -> None:
    text = "Pure crystal meth and 5F-MDMB-PINACA"
    matches = lexicon.find(text)
    assert [m.matched_text for m in matches] == ["crystal meth", "5F-MDMB-PINACA"]
    assert all(text[m.start:m.end] == m.matched_text for m in matches)


def test_tag_keeps_first_appearance_order_without_repeats(lexicon: SubstanceLexicon) -> None:
    substances, classes = lexicon.tag("Cocaine and ketamine", "more cocaine, кокаин")
    assert substances == ["cocaine", "ketamine"]
    assert classes == ["cocaine", "dissociatives"]


def test_every_class_in_the_config_is_used(lexicon: SubstanceLexicon) -> None:
    assert set(lexicon.classes) == set(lexicon.substance_class.values())


def test_unknown_class_is_rejected_with_key() -> None:
    data = {"classes": {"a": {"label": "A"}}, "substances": {"x": {"class": "b", "names": ["xx"]}}}
    with pytest.raises(UserError, match=r"lexicon.yml: substances\.x\.class: unknown class 'b'"):
        SubstanceLexicon.from_mapping(data, "lexicon.yml")


def test_name_under_two_substances_is_rejected() -> None:
    data = {
        "classes": {"a": {"label": "A"}},
        "substances": {"x": {"class": "a", "names": ["dup"]}, "y": {"class": "a", "names": ["DUP"]}},
    }
    with pytest.raises(UserError, match="already a name of 'x'"):
        SubstanceLexicon.from_mapping(data, "lexicon.yml")


def test_malformed_yaml_names_file_and_line(tmp_path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("classes:\n  a: {label: A\nsubstances: {}\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"bad\.yml: not valid YAML at line \d+"):
        SubstanceLexicon.load(path)


def test_config_file_names_are_all_matchable(lexicon: SubstanceLexicon) -> None:
    data = yaml.safe_load(DEFAULT_LEXICON.read_text(encoding="utf-8"))
    for substance, spec in data["substances"].items():
        for name in spec["names"]:
            found = lexicon.tag(f"offer: {name.rstrip('~')} now")[0]
            assert substance in found, (substance, name)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=400))
def test_find_never_crashes_and_spans_are_consistent(text: str) -> None:
    lexicon = default_lexicon()
    for match in lexicon.find(text):
        assert text[match.start:match.end] == match.matched_text
        assert match.substance in lexicon.substance_class


def test_umbrella_term_gives_way_to_a_specific_substance(lexicon: SubstanceLexicon) -> None:
    assert lexicon.tag("MDMB-4en-PINACA (spice) 5g") == (["mdmb-4en-pinaca"], ["synthetic_cannabinoids"])
    assert lexicon.tag("Спайс 1г", "ADB-BUTINACA") == (["adb-butinaca"], ["synthetic_cannabinoids"])
    # Alone, or beside a substance of another class, the umbrella term stays.
    assert lexicon.tag("spice gold") == (["spice"], ["synthetic_cannabinoids"])
    assert lexicon.tag("spice and ketamine")[0] == ["spice", "ketamine"]
    assert "spice" in lexicon.umbrella


def test_unknown_substance_key_is_rejected() -> None:
    data = {"classes": {"a": {"label": "A"}}, "substances": {"x": {"class": "a", "names": ["xx"], "umbrela": True}}}
    with pytest.raises(UserError, match=r"substances\.x: unknown key 'umbrela'"):
        SubstanceLexicon.from_mapping(data, "lexicon.yml")
