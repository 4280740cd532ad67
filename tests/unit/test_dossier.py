"""search.dossier: how names are compared for weak links, and the links' evidence."""

from __future__ import annotations

from search.dossier import _shared, name_key


def test_name_key_sets_case_and_punctuation_aside():
    assert name_key("DrGreen") == name_key("dr_green") == name_key("Dr. Green") == name_key("DR-GREEN")
    assert name_key("Доктор Грин") == name_key("доктор_грин")
    assert name_key("DrGreen") != name_key("DrGreen2")


def test_shared_reasons_name_each_key_and_wallet():
    one = {"pgp_fingerprints": ["F1", "F2"], "wallets": ["w1"]}
    other = {"pgp_fingerprints": ["F2"], "wallets": ["w1", "w2"]}
    assert _shared(one, other) == [{"kind": "pgp", "value": "F2"}, {"kind": "wallet", "value": "w1"}]
    assert _shared(one, {"pgp_fingerprints": ["F3"]}) == []
