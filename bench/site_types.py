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
``site-type held-out 6``, ``site-type held-out 7`` and ``site-type held-out 8`` cover ``tests/data/real/site_type_pages``: pages of
sites in no other part of the corpus, with site-type labels only (``site_types.json`` ``site_type_pages``;
split.json ``site_type_held_out``, ``site_type_held_out_3``, ``site_type_held_out_4``, ``site_type_held_out_5``,
``site_type_held_out_6``, ``site_type_held_out_7``, ``site_type_held_out_8``;
sites listed in ``site_type_development`` there are development pages).  SPLIT.md records the
first (unbiased) figure of each held-out set and what was done after it.

Every page of the corpus has now been seen while the rules were written, so
the accuracies above are fits.  Beside them the benchmark prints a naive Bayes
over page words trained leave-one-site-out (each site's pages classified by a
model trained on the other sites' pages): the honest figure of the "small
classifier trained on pages the project ships" issue 14 allows, kept
report-only while it does worse than the rules did on first sight.

Exits 0; it reports, it does not judge.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "real"
TARGET = 0.9
SITE_TYPE_HELD_OUT = "site-type held-out"
SITE_TYPE_HELD_OUT_3 = "site-type held-out 3"
OTHER_TYPE = "other"
SITE_TYPE_HELD_OUT_4 = "site-type held-out 4"
SITE_TYPE_HELD_OUT_5 = "site-type held-out 5"
SITE_TYPE_HELD_OUT_6 = "site-type held-out 6"
SITE_TYPE_HELD_OUT_7 = "site-type held-out 7"
SITE_TYPE_HELD_OUT_8 = "site-type held-out 8"
SPLITS = ("development", "held-out", SITE_TYPE_HELD_OUT, SITE_TYPE_HELD_OUT_3, SITE_TYPE_HELD_OUT_4,
          SITE_TYPE_HELD_OUT_5, SITE_TYPE_HELD_OUT_6, SITE_TYPE_HELD_OUT_7, SITE_TYPE_HELD_OUT_8)


def classify_corpus(corpus: Path = CORPUS) -> list[dict[str, Any]]:
    """One row per labelled page: market, page, split, label, the guess, its confidence and evidence."""
    from crawler.extractors.document import extract_document

    split = json.loads((corpus / "split.json").read_text(encoding="utf-8"))
    side = {market: "development" for market in split["development"]}
    side.update({market: "held-out" for market in split["held_out"]})
    # For site types the extraction split's held-out markets are spent (their figure was seen and
    # tuned on, SPLIT.md): they count as development; the site-type held-out set is site_type_pages/.
    side.update({market: "development" for market in split.get("site_type_development", [])})
    labels = json.loads((corpus / "site_types.json").read_text(encoding="utf-8"))["pages"]
    rows = []
    for key, label in sorted(labels.items()):
        market, page = key.split("/")
        raw = (corpus / "pages" / market / f"{page}.html").read_bytes()
        # A neutral onion URL: the page's real address is not part of what is classified.
        document = extract_document(raw, f"http://{'x' * 56}.onion/{page}", "2026-01-01T00:00:00Z", "bench")
        rows.append({"market": market, "page": page, "split": side[market], "label": label["site_type"],
                     "guess": document.page.site_type, "confidence": document.page.site_type_confidence,
                     "evidence": document.page.site_type_evidence,
                     "words": _words(document.page.title, document.page.text)})
    site_sides = set(split.get("site_type_held_out", []))
    site_labels = json.loads((corpus / "site_types.json").read_text(encoding="utf-8")).get("site_type_pages", {})
    for key, label in sorted(site_labels.items()):
        site, page = key.split("/")
        if site in split.get("site_type_development", []):
            page_split = "development"
        elif site in site_sides:
            page_split = SITE_TYPE_HELD_OUT
        elif site in split.get("site_type_held_out_3", []):
            page_split = SITE_TYPE_HELD_OUT_3
        elif site in split.get("site_type_held_out_4", []):
            page_split = SITE_TYPE_HELD_OUT_4
        elif site in split.get("site_type_held_out_5", []):
            page_split = SITE_TYPE_HELD_OUT_5
        elif site in split.get("site_type_held_out_6", []):
            page_split = SITE_TYPE_HELD_OUT_6
        elif site in split.get("site_type_held_out_7", []):
            page_split = SITE_TYPE_HELD_OUT_7
        elif site in split.get("site_type_held_out_8", []):
            page_split = SITE_TYPE_HELD_OUT_8
        else:
            raise ValueError(f"{key}: site {site!r} is in no site-type split of split.json")
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
    print("per page (held-out first):")
    for row in sorted(rows, key=lambda row: (SPLITS.index(row["split"]) * -1, row["market"], row["page"])):
        mark = "ok  " if row["label"] == row["guess"] else "MISS"
        print(f"  {mark} {row['split']:<18} {row['market'] + '/' + row['page']:<34} label {row['label']:<11} "
              f"guess {row['guess']:<11} {row['confidence']}  {'; '.join(row['evidence'])[:120]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
