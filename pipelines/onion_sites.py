"""What each onion is, and which onions are copies of each other: the post-crawl step ``onionscope index sites``.

Run after a crawl (``onionscope crawl`` runs it when the crawl ends, and
``onionscope index sites`` runs it on demand), over everything indexed under a prefix:

1. **Site type of an onion**: the pages' own site types (:mod:`crawler.extractors.site_type`)
   vote, each with its confidence; the onion gets the type with the most weight, the
   share of that weight as its confidence, and as evidence how many of its pages say so
   and why its best page does.
2. **Mirror groups**: each onion's front page and its whole page set become MinHash
   signatures over word 5-shingles (datasketch; 128 permutations, fixed seed), and an LSH
   index finds the pairs whose front pages or page sets are near-duplicates (estimated
   Jaccard >= ``threshold``); connected pairs form a group.  A group is labelled from
   the identifiers its members show (PGP fingerprints, wallet addresses, vendor names,
   from their pages, listings and vendors):

   * ``possible-phishing-clone`` -- two members both show payment wallets (or PGP keys)
     and share none: the content matches but the money goes elsewhere;
   * ``mirrors`` -- otherwise, when members share PGP keys, wallets or vendor names;
   * ``near-duplicates`` -- the content matches, and nothing else says who runs them.

   Each onion document gets its group id, label, members, similarity and the reasons.

Public API: :func:`index_sites` (client, prefix, threshold, now) -> :class:`SitesReport`;
the pure parts :func:`onion_site_type`, :func:`shingles`, :func:`find_groups`,
:func:`label_group` (what the unit tests check).

Cost: reads every page's text once (capped per page and per onion), so it is
linear in the index; run it after a crawl, not per page.  Raises the
Elasticsearch client's errors unchanged.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from config.schema import alias_name
from config.site_types import OTHER

NUM_PERM = 128
SHINGLE_WORDS = 5
DEFAULT_THRESHOLD = 0.7
MAX_TEXT_PER_PAGE = 20_000
MAX_PAGES_PER_ONION = 200
_WORD = re.compile(r"\w+", re.UNICODE)
LABELS = ("mirrors", "possible-phishing-clone", "near-duplicates")


@dataclass
class OnionFacts:
    """What the step gathers about one onion host."""

    host: str
    front_text: str = ""
    front_depth: int = 10**6
    texts: list[str] = field(default_factory=list)
    page_types: list[tuple[str, float, tuple[str, ...]]] = field(default_factory=list)
    wallets: set[str] = field(default_factory=set)
    pgp: set[str] = field(default_factory=set)
    vendors: set[str] = field(default_factory=set)


@dataclass
class SitesReport:
    onions: int = 0
    groups: list[dict[str, Any]] = field(default_factory=list)
    site_types: dict[str, int] = field(default_factory=dict)


def onion_site_type(page_types: Iterable[tuple[str, float, Iterable[str]]]) -> tuple[str, float, list[str], int]:
    """(site type, confidence, evidence, pages) of an onion from its pages' (type, confidence, evidence).

    Each page votes with its confidence; a host with no classified page is ``other`` at 0.
    """
    weight: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    best: dict[str, tuple[float, list[str]]] = {}
    pages = 0
    for site_type, confidence, evidence in page_types:
        if not site_type:
            continue
        pages += 1
        weight[site_type] += float(confidence or 0.0)
        counts[site_type] += 1
        if site_type not in best or float(confidence or 0) > best[site_type][0]:
            best[site_type] = (float(confidence or 0), list(evidence or ()))
    if not weight:
        return OTHER, 0.0, ["no page of it is classified"], 0
    winner = max(weight, key=lambda name: (weight[name], counts[name]))
    confidence = round(weight[winner] / sum(weight.values()) * best[winner][0], 2)
    evidence = [f"{counts[winner]} of {pages} pages are {winner}", *best[winner][1][:3]]
    return winner, confidence, evidence, pages


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[bytes]:
    """The word ``size``-shingles of ``text`` (lower-cased), as bytes for MinHash; one shingle for a short text."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def _minhash(parts: set[bytes]) -> Any:
    from datasketch import MinHash

    signature = MinHash(num_perm=NUM_PERM, seed=1)
    signature.update_batch(list(parts))
    return signature


def find_groups(facts: Mapping[str, OnionFacts], threshold: float = DEFAULT_THRESHOLD
                ) -> list[tuple[list[str], dict[tuple[str, str], float]]]:
    """Groups of near-duplicate onions: (sorted hosts, {(a, b): estimated Jaccard}) per group of two or more.

    Two onions pair when their front pages or their page sets reach ``threshold``.
    """
    from datasketch import MinHashLSH

    signatures: dict[str, dict[str, Any]] = {}
    indices = {name: MinHashLSH(threshold=threshold, num_perm=NUM_PERM) for name in ("front", "set")}
    for host, fact in sorted(facts.items()):
        front = shingles(fact.front_text)
        whole = set().union(*(shingles(text) for text in fact.texts)) if fact.texts else set()
        if len(whole) < 20:
            continue  # too little text to call two sites copies
        signatures[host] = {"front": _minhash(front) if len(front) >= 20 else None, "set": _minhash(whole)}
        for name, signature in signatures[host].items():
            if signature is not None:
                indices[name].insert(host, signature)
    parent = {host: host for host in signatures}

    def root(host: str) -> str:
        while parent[host] != host:
            parent[host] = parent[parent[host]]
            host = parent[host]
        return host

    similarity: dict[tuple[str, str], float] = {}
    for host, own in signatures.items():
        for name, signature in own.items():
            if signature is None:
                continue
            for other in indices[name].query(signature):
                if other == host:
                    continue
                theirs = signatures[other][name]
                estimate = signature.jaccard(theirs)
                if estimate < threshold:
                    continue
                pair = (min(host, other), max(host, other))
                similarity[pair] = max(similarity.get(pair, 0.0), round(estimate, 3))
                parent[root(host)] = root(other)
    members: dict[str, list[str]] = defaultdict(list)
    for host in signatures:
        members[root(host)].append(host)
    groups = []
    for hosts in members.values():
        if len(hosts) < 2:
            continue
        chosen = set(hosts)
        groups.append((sorted(hosts), {pair: value for pair, value in similarity.items() if pair[0] in chosen}))
    return sorted(groups)


def label_group(hosts: list[str], facts: Mapping[str, OnionFacts]) -> tuple[str, list[str]]:
    """(label, reasons) of a group of near-duplicate onions (see the module docstring)."""
    reasons: list[str] = []
    clone = False
    shared_any = False
    for index, first in enumerate(hosts):
        for second in hosts[index + 1:]:
            a, b = facts[first], facts[second]
            for name, mine, theirs in (("wallets", a.wallets, b.wallets), ("PGP keys", a.pgp, b.pgp)):
                if mine and theirs and not mine & theirs:
                    clone = True
                    reasons.append(f"{first} and {second} show different {name} (none of {len(mine)} and "
                                   f"{len(theirs)} shared)")
                elif mine & theirs:
                    shared_any = True
                    reasons.append(f"{first} and {second} share {len(mine & theirs)} {name}")
            if a.vendors & b.vendors:
                shared_any = True
                reasons.append(f"{first} and {second} share {len(a.vendors & b.vendors)} vendor names")
    if clone:
        return "possible-phishing-clone", reasons
    if shared_any:
        return "mirrors", reasons
    return "near-duplicates", reasons or ["the content matches; no PGP key, wallet or vendor name to compare"]


def _scan(client: Any, index: str, fields: list[str]) -> Iterable[dict[str, Any]]:
    from elasticsearch import NotFoundError
    from elasticsearch.helpers import scan

    try:
        for hit in scan(client, index=index, query={"query": {"match_all": {}}, "_source": fields}, size=500):
            yield hit.get("_source") or {}
    except NotFoundError:
        return


def gather(client: Any, prefix: str) -> dict[str, OnionFacts]:
    """Every onion's facts from the pages, listings and vendors under ``prefix``."""
    facts: dict[str, OnionFacts] = {}

    def of(host: Any) -> OnionFacts | None:
        if not host:
            return None
        host = str(host).lower()
        return facts.setdefault(host, OnionFacts(host))

    page_fields = ["onion_host", "url", "depth", "text", "site_type", "site_type_confidence", "site_type_evidence",
                   "wallets.address", "pgp_fingerprints", "status"]
    for page in _scan(client, alias_name(prefix, "pages"), page_fields):
        fact = of(page.get("onion_host"))
        if fact is None:
            continue
        text = str(page.get("text") or "")[:MAX_TEXT_PER_PAGE]
        if len(fact.texts) < MAX_PAGES_PER_ONION and int(page.get("status") or 200) < 400:
            fact.texts.append(text)
            depth = int(page.get("depth") or 0)
            if depth < fact.front_depth:
                fact.front_depth, fact.front_text = depth, text
        fact.page_types.append((page.get("site_type") or "", page.get("site_type_confidence") or 0.0,
                                tuple(page.get("site_type_evidence") or ())))
        fact.wallets.update(str(w.get("address")) for w in page.get("wallets") or () if isinstance(w, dict)
                            and w.get("address"))
        fact.pgp.update(str(key) for key in page.get("pgp_fingerprints") or ())
    for listing in _scan(client, alias_name(prefix, "listings"), ["onion_host", "vendor", "wallets"]):
        fact = of(listing.get("onion_host"))
        if fact is not None:
            if listing.get("vendor"):
                fact.vendors.add(str(listing["vendor"]).casefold())
            fact.wallets.update(str(wallet) for wallet in listing.get("wallets") or ())
    for vendor in _scan(client, alias_name(prefix, "vendors"), ["onion_host", "name", "pgp_fingerprints", "wallets"]):
        fact = of(vendor.get("onion_host"))
        if fact is not None:
            if vendor.get("name"):
                fact.vendors.add(str(vendor["name"]).casefold())
            fact.pgp.update(str(key) for key in vendor.get("pgp_fingerprints") or ())
            fact.wallets.update(str(wallet) for wallet in vendor.get("wallets") or ())
    return facts


def index_sites(client: Any, prefix: str, threshold: float = DEFAULT_THRESHOLD, now: str | None = None
                ) -> SitesReport:
    """Writes every onion's site type and mirror group under ``prefix``; returns what it found.

    The pages, listings and vendors indices are refreshed first, so everything
    written before the call is read.  Onion documents that do not exist yet are
    created with the host alone.  An onion that left its group has its group
    fields cleared.  Raises the
    Elasticsearch client's errors; a bulk item that fails raises RuntimeError.
    """
    from elasticsearch.helpers import bulk

    now = now or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Run right after a crawl: its last batch may not be searchable yet (a refresh comes about once a
    # second, later on a busy node), and a page the scan misses leaves its onion untyped and ungrouped.
    client.indices.refresh(index=",".join(alias_name(prefix, kind) for kind in ("pages", "listings", "vendors")),
                           ignore_unavailable=True, allow_no_indices=True)
    facts = gather(client, prefix)
    report = SitesReport(onions=len(facts))
    updates: dict[str, dict[str, Any]] = {}
    for host, fact in facts.items():
        site_type, confidence, evidence, pages = onion_site_type(fact.page_types)
        report.site_types[site_type] = report.site_types.get(site_type, 0) + 1
        updates[host] = {"site_type": site_type, "site_type_confidence": confidence,
                         "site_type_evidence": [item[:250] for item in evidence], "site_type_pages": pages,
                         "mirror_group": None, "mirror_group_label": None, "mirror_group_members": [],
                         "mirror_group_similarity": None, "mirror_group_reasons": [], "sites_indexed_at": now}
    for hosts, pairs in find_groups(facts, threshold):
        label, reasons = label_group(hosts, facts)
        group_id = hashlib.sha256("\0".join(hosts).encode()).hexdigest()[:16]
        similarity = round(min(pairs.values()), 3) if pairs else None
        pair_reasons = [f"{a} and {b}: content {value:.0%} alike" for (a, b), value in sorted(pairs.items())]
        report.groups.append({"group": group_id, "label": label, "members": hosts, "similarity": similarity,
                              "reasons": pair_reasons + reasons})
        for host in hosts:
            updates[host].update({"mirror_group": group_id, "mirror_group_label": label,
                                  "mirror_group_members": hosts, "mirror_group_similarity": similarity,
                                  "mirror_group_reasons": [reason[:500] for reason in (pair_reasons + reasons)[:50]]})
    actions = ({"_op_type": "update", "_index": alias_name(prefix, "onions"), "_id": host,
                "doc": {"onion_host": host, **update} if host else update, "doc_as_upsert": True}
               for host, update in updates.items())
    _, errors = bulk(client, actions, raise_on_error=False, refresh="wait_for")
    if errors:
        raise RuntimeError(f"{len(errors)} onion documents could not be updated: {errors[:3]}")
    return report
