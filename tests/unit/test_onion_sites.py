"""pipelines.onion_sites: an onion's site type from its pages, near-duplicate groups and their labels."""

from __future__ import annotations

import random

from pipelines.onion_sites import OnionFacts, find_groups, label_group, onion_site_type, shingles

WORDS = [f"word{i}" for i in range(400)]


def _text(seed: int, length: int = 300) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(length))


def _facts(host: str, text: str, **identifiers: set[str]) -> OnionFacts:
    return OnionFacts(host, front_text=text, front_depth=0, texts=[text], **identifiers)


def test_pages_vote_for_the_onion_type_with_their_confidence():
    site_type, confidence, evidence, pages = onion_site_type(
        [("market", 0.99, ("a category page",)), ("market", 0.9, ()), ("login-wall", 0.95, ("captcha",))])
    assert site_type == "market" and pages == 3 and 0.5 < confidence < 0.99
    assert evidence[0] == "2 of 3 pages are market" and "a category page" in evidence
    assert onion_site_type([])[0:2] == ("other", 0.0)
    assert onion_site_type([("", 0.0, ())])[3] == 0


def test_shingles_are_word_five_grams():
    assert shingles("A b c d e f") == {b"a b c d e", b"b c d e f"}
    assert shingles("two words") == {b"two words"} and shingles("") == set()


def test_copies_group_and_different_sites_do_not():
    base = _text(1)
    edited = base.replace("word7 ", "word8 ", 2)
    facts = {"a.onion": _facts("a.onion", base), "b.onion": _facts("b.onion", edited),
             "c.onion": _facts("c.onion", _text(2)), "d.onion": _facts("d.onion", "too short")}
    groups = find_groups(facts, threshold=0.7)
    assert [hosts for hosts, _ in groups] == [["a.onion", "b.onion"]]
    assert groups[0][1][("a.onion", "b.onion")] >= 0.7


def test_labels_mirrors_clones_and_near_duplicates():
    text = _text(3)
    mirror = {"a": _facts("a", text, wallets={"w1", "w2"}, pgp={"K"}, vendors={"v"}),
              "b": _facts("b", text, wallets={"w1", "w2"}, pgp={"K"}, vendors={"v"})}
    label, reasons = label_group(["a", "b"], mirror)
    assert label == "mirrors" and any("share 2 wallets" in reason for reason in reasons)
    clone = {"a": _facts("a", text, wallets={"w1"}, pgp={"K"}, vendors={"v"}),
             "b": _facts("b", text, wallets={"x9"}, pgp={"K"}, vendors={"v"})}
    label, reasons = label_group(["a", "b"], clone)
    assert label == "possible-phishing-clone" and any("different wallets" in reason for reason in reasons)
    assert label_group(["a", "b"], {"a": _facts("a", text), "b": _facts("b", text)})[0] == "near-duplicates"
