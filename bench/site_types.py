"""Benchmark: site types of the real saved pages (issue 14), development and held-out markets apart.

Run as ``.venv/bin/python -m bench.site_types``.

Reads the corpus in ``tests/data/real`` (pages, the by-market split in
``split.json``) and the hand-written labels in ``tests/data/real/site_types.json``
(written from the truth files and SPLIT.md, never from the classifier's output;
its ``provenance`` says how), runs the whole page extraction
(:func:`crawler.extractors.document.extract_document`, no market profiles) on
every page, and prints the accuracy of the page's site type on the development
markets and on the held-out ones (never tuned on), then every miss with the
classifier's evidence.  The target is accuracy >= 0.9 on held-out pages.

The rows ``site-type held-out``, ``site-type held-out 3``, ``site-type held-out 4``, ``site-type held-out 5``,
``site-type held-out 6``, ``site-type held-out 7``, ``site-type held-out 8`` and ``site-type held-out 9`` cover
``tests/data/real/site_type_pages``: pages of sites in no other part of the corpus, with site-type labels only
(``site_types.json`` ``site_type_pages``; split.json ``site_type_held_out``, ``site_type_held_out_3``,
``site_type_held_out_4``, ``site_type_held_out_5``, ``site_type_held_out_6``, ``site_type_held_out_7``,
``site_type_held_out_8``, ``site_type_held_out_9``; sites listed in ``site_type_development`` there are development
pages).  SPLIT.md records the first (unbiased) figure of each held-out set and what was done after it.

Every page of the corpus has now been seen while the rules were written, so
the accuracies above are fits.  Beside them the benchmark prints a naive Bayes
over page words trained leave-one-site-out (each site's pages classified by a
model trained on the other sites' pages): the honest figure of the "small
classifier trained on pages the project ships" issue 14 allows, kept
report-only while it does worse than the rules did on first sight.

The rules' thresholds that were placed by looking at the pages (:data:`FITTED_THRESHOLDS`: bounds set in
a gap between two types' pages, counts chosen so that every page came out right) are the data-driven part of
the rules: the benchmark refits each of them leave-one-set-out (on every split but one, then classifies that
split with the refitted values) and prints that figure beside the shipped one.  The rest of the rules --
which evidence counts for which type, the word lists, the weights -- was written by hand with every page in
view; no procedure chose it, so it cannot be cross-validated, and the benchmark says so rather than print a
figure that would pretend to.

Exits 0; it reports, it does not judge.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Collection, Iterator

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "real"
TARGET = 0.9
OTHER_TYPE = "other"
# split.json's site-type held-out keys, in the order the sets were collected, and the row each is reported in.
SITE_TYPE_HELD_OUT_KEYS = (("site_type_held_out", "site-type held-out"),) + tuple(
    (f"site_type_held_out_{number}", f"site-type held-out {number}") for number in range(3, 10))
SPLITS = ("development", "held-out") + tuple(row for _, row in SITE_TYPE_HELD_OUT_KEYS)


def classify_corpus(corpus: Path = CORPUS, splits: Collection[str] | None = None) -> list[dict[str, Any]]:
    """One row per labelled page: market, page, split, label, the guess, its confidence and evidence.

    ``splits`` (names from :data:`SPLITS`), when given, keeps only the pages of those splits and extracts
    no other page; every page's split is still looked up, so a page in no split still raises
    :class:`ValueError`.  The benchmark itself always classifies every page."""
    with _keeping_signals() as kept:
        rows = _classify_corpus(corpus, splits)
    for row, signals in zip(rows, kept):
        row["signals"] = signals
    return rows


@contextlib.contextmanager
def _keeping_signals() -> Iterator[list[Any]]:
    """While open, every :class:`PageSignals` the page extraction classifies is appended to the list it yields
    (the bench refits thresholds on them below without extracting each page again)."""
    from crawler.extractors import document

    kept: list[Any] = []
    classify = document.classify_page

    def keep(signals: Any) -> Any:
        kept.append(signals)
        return classify(signals)

    document.classify_page = keep
    try:
        yield kept
    finally:
        document.classify_page = classify


def _classify_corpus(corpus: Path, splits: Collection[str] | None) -> list[dict[str, Any]]:
    from crawler.extractors.document import extract_document

    split = json.loads((corpus / "split.json").read_text(encoding="utf-8"))
    side = {market: "development" for market in split["development"]}
    side.update({market: "held-out" for market in split["held_out"]})
    # For site types the extraction split's held-out markets are spent (their figure was seen and
    # tuned on, SPLIT.md): they count as development; the site-type held-out set is site_type_pages/.
    side.update({market: "development" for market in split.get("site_type_development", [])})
    all_labels = json.loads((corpus / "site_types.json").read_text(encoding="utf-8"))
    labels = all_labels["pages"]
    rows = []
    for key, label in sorted(labels.items()):
        market, page = key.split("/")
        if splits is not None and side[market] not in splits:
            continue
        raw = (corpus / "pages" / market / f"{page}.html").read_bytes()
        # A neutral onion URL: the page's real address is not part of what is classified.
        document = extract_document(raw, f"http://{'x' * 56}.onion/{page}", "2026-01-01T00:00:00Z", "bench")
        rows.append({"market": market, "page": page, "split": side[market], "label": label["site_type"],
                     "guess": document.page.site_type, "confidence": document.page.site_type_confidence,
                     "evidence": document.page.site_type_evidence,
                     "words": _words(document.page.title, document.page.text)})
    site_labels = all_labels.get("site_type_pages", {})
    for key, label in sorted(site_labels.items()):
        site, page = key.split("/")
        if site in split.get("site_type_development", []):
            page_split = "development"
        else:
            page_split = next((row for name, row in SITE_TYPE_HELD_OUT_KEYS if site in split.get(name, [])), "")
        if not page_split:
            raise ValueError(f"{key}: site {site!r} is in no site-type split of split.json")
        if splits is not None and page_split not in splits:
            continue
        raw = (corpus / "site_type_pages" / site / f"{page}.html").read_bytes()
        document = extract_document(raw, f"http://{'x' * 56}.onion/{page}", "2026-01-01T00:00:00Z", "bench")
        rows.append({"market": site, "page": page, "split": page_split, "label": label["site_type"],
                     "guess": document.page.site_type, "confidence": document.page.site_type_confidence,
                     "evidence": document.page.site_type_evidence,
                     "words": _words(document.page.title, document.page.text)})
    return rows


def _words(title: str, text: str) -> frozenset[str]:
    """The distinct words of a page (title words marked ``t:``): what the naive Bayes below reads."""
    tokens = re.findall(r"[^\W\d_]{3,}", text[:50_000].lower())
    return frozenset(tokens) | frozenset("t:" + word for word in re.findall(r"[^\W\d_]{3,}", title[:300].lower()))


def naive_bayes_leave_one_site_out(rows: list[dict[str, Any]]) -> list[str]:
    """Each row's type by a naive Bayes over page words trained on every OTHER site's rows (one guess per row).

    A measurement, not part of the classifier: it says how well a small model trained on the pages the
    project ships would do on a site it has never seen (issue 14 allows one; the rules stay while it
    does worse).  Binarised multinomial naive Bayes with add-one smoothing: a word counts once per page.
    """
    guesses = []
    for row in rows:
        training = [other for other in rows if other["market"] != row["market"]]
        classes = sorted({other["label"] for other in training})
        vocabulary = set().union(*(other["words"] for other in training))
        best, best_score = OTHER_TYPE, -math.inf
        for site_type in classes:
            members = [other for other in training if other["label"] == site_type]
            counts = Counter(word for other in members for word in other["words"])
            total = sum(counts.values()) + len(vocabulary)
            score = math.log(len(members) / len(training)) + sum(
                math.log((counts[word] + 1) / total) for word in row["words"] if word in vocabulary)
            if score > best_score:
                best, best_score = site_type, score
        guesses.append(best)
    return guesses


# The rules' thresholds that were placed by looking at the saved pages (a bound set in a gap between the pages
# of two types, a count chosen so that every page came out right), with the values a refit may choose from.
# The rest of the rules -- which evidence counts for which type, the word lists, the weights -- was written by
# hand with every page in view: no procedure chose it, so no procedure can re-choose it without a set, and it
# cannot be cross-validated.  Its only honest figure is the first-sight one of each set (SPLIT.md).
FITTED_THRESHOLDS: dict[str, tuple[float, ...]] = {
    "MAX_WORDS_PER_COMMERCE_SIGN": (50, 100, 150, 200, 250, 350, 500, 1000),
    "MIN_COMMERCE_SIGNS": (1, 2, 3, 4),
    "MIN_SELLER_VOICE": (1, 2, 3, 4),
    "MIN_SELLER_MENTIONS": (1, 2, 3, 4),
    "MAX_SEARCH_PAGE_WORDS": (40, 60, 70, 85, 100, 150, 250),
    "MIN_FORUM_COUNTS": (1, 2, 3, 4, 6),
    "MIN_CATEGORY_LINKS": (2, 3, 5, 8, 12),
    "MIN_LEAK_ENTRIES": (1, 2, 3, 5),
    "MAX_INTERSTITIAL_WORDS": (10, 20, 40, 60, 100),
    "MIN_ARTICLE_WORDS": (1, 2, 3, 4, 5),
}


@contextlib.contextmanager
def _thresholds(values: dict[str, float]) -> Iterator[None]:
    """The site-type rules with the given module thresholds, restored on exit."""
    from crawler.extractors import site_type

    saved = {name: getattr(site_type, name) for name in values}
    try:
        for name, value in values.items():
            setattr(site_type, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(site_type, name, value)


def _guesses(rows: list[dict[str, Any]], values: dict[str, float]) -> list[str]:
    from crawler.extractors.site_type import classify_page

    with _thresholds(values):
        return [classify_page(row["signals"]).site_type for row in rows]


def refit_leave_one_set_out(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per split: the rules' accuracy with every threshold of :data:`FITTED_THRESHOLDS` refitted on the OTHER splits.

    Each threshold is refitted on its own (the others at their shipped values): the candidate that gets most
    pages of the other splits right, among equals the middle one (the shipped value was placed with every split in
    view, so a tie must not lean to it); the split is then classified with all the refitted values together.  Returns split -> {"correct", "pages", "changed": {name: (shipped, refit)}}.
    A threshold whose refit moves when one split is left out was placed by that split's pages.
    """
    from crawler.extractors import site_type

    shipped = {name: getattr(site_type, name) for name in FITTED_THRESHOLDS}
    right = {(name, value): [guess == row["label"] for guess, row in zip(_guesses(rows, {name: value}), rows)]
             for name, candidates in FITTED_THRESHOLDS.items() for value in candidates}
    result: dict[str, dict[str, Any]] = {}
    for split in SPLITS:
        held = [index for index, row in enumerate(rows) if row["split"] == split]
        if not held:
            continue
        chosen = {}
        for name, candidates in FITTED_THRESHOLDS.items():
            scores = [sum(mark for index, mark in enumerate(right[(name, value)]) if rows[index]["split"] != split)
                      for value in candidates]
            best = [value for value, score in zip(candidates, scores) if score == max(scores)]
            chosen[name] = best[(len(best) - 1) // 2]
        guesses = _guesses([rows[index] for index in held], chosen)
        result[split] = {"correct": sum(guess == rows[index]["label"] for guess, index in zip(guesses, held)),
                         "pages": len(held),
                         "changed": {name: (shipped[name], value) for name, value in chosen.items()
                                     if value != shipped[name]}}
    return result


def accuracy(rows: list[dict[str, Any]], split: str) -> tuple[int, int]:
    chosen = [row for row in rows if row["split"] == split]
    return sum(row["label"] == row["guess"] for row in chosen), len(chosen)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    rows = classify_corpus()
    print("site types of real saved pages (labels: tests/data/real/site_types.json)")
    print(f"{'split':<18} {'correct':>7} {'pages':>5} {'accuracy':>8}  target")
    for split in SPLITS:
        correct, total = accuracy(rows, split)
        if not total:
            continue
        print(f"{split:<18} {correct:>7} {total:>5} {correct / total if total else 0:>8.2f}  "
              f"{'(tuned on)' if split == 'development' else '>= ' + str(TARGET)}")
    print()
    guesses = naive_bayes_leave_one_site_out(rows)
    print("naive Bayes on page words, leave-one-site-out (report-only, not used by the classifier): the rules'")
    print("column is a fit (they were written with every page here in view); the naive Bayes column is what a")
    print("small word model trained on the shipped pages does on a site it never saw")
    print(f"{'split':<20} {'rules':>7} {'bayes':>7} {'pages':>5}")
    for split in SPLITS + ("all",):
        chosen = [index for index, row in enumerate(rows) if split in ("all", row["split"])]
        if chosen:
            rules = sum(rows[index]["label"] == rows[index]["guess"] for index in chosen) / len(chosen)
            bayes = sum(rows[index]["label"] == guesses[index] for index in chosen) / len(chosen)
            print(f"{split:<20} {rules:>7.2f} {bayes:>7.2f} {len(chosen):>5}")
    print()
    print("thresholds refitted leave-one-set-out (report-only): each threshold the rules placed by looking at the")
    print("pages is refitted on every OTHER set and the set is classified with the refitted values. The rest of the")
    print("rules (which evidence counts, word lists, weights) was written by hand with every page in view and cannot")
    print("be cross-validated: both columns are fits of it, and only SPLIT.md's first-sight figures are unbiased.")
    print(f"{'split':<20} {'shipped':>7} {'refit':>7} {'pages':>5}  thresholds the refit moved (shipped -> refit)")
    refits = refit_leave_one_set_out(rows)
    for split, refit in refits.items():
        correct, total = accuracy(rows, split)
        moved = ", ".join(f"{name} {old:g}->{new:g}" for name, (old, new) in refit["changed"].items()) or "-"
        print(f"{split:<20} {correct / total:>7.2f} {refit['correct'] / refit['pages']:>7.2f} {total:>5}  {moved}")
    pooled = sum(refit["correct"] for refit in refits.values()), sum(refit["pages"] for refit in refits.values())
    print(f"{'all':<20} {sum(row['label'] == row['guess'] for row in rows) / len(rows):>7.2f} "
          f"{pooled[0] / pooled[1]:>7.2f} {pooled[1]:>5}")
    print()
    print("per page (held-out first):")
    for row in sorted(rows, key=lambda row: (SPLITS.index(row["split"]) * -1, row["market"], row["page"])):
        mark = "ok  " if row["label"] == row["guess"] else "MISS"
        print(f"  {mark} {row['split']:<18} {row['market'] + '/' + row['page']:<34} label {row['label']:<11} "
              f"guess {row['guess']:<11} {row['confidence']}  {'; '.join(row['evidence'])[:120]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
