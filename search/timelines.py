"""Figures over time, from Elasticsearch aggregations: what the charts of the UI draw.

Each reader is a generator of :mod:`search.es_steps` requests (run it with
:func:`search.es_steps.run` or :func:`search.es_steps.run_async`); it returns
plain dicts, which are the JSON twins of the chart pages.  Days are UTC
calendar days, written ``YYYY-MM-DD``.

Public API:

* :func:`listings_per_market_steps` (prefix, days, market=None, within=None) -> ``{days,
  series: {market: {day: count}}, first_day, last_day}`` -- listings on sale
  per market per day: a listing counts on every day from its ``first_seen``
  to its ``last_seen`` (a listing is one document, updated by each crawl, so
  this is what the index can tell without snapshots).  At most ``days`` days,
  ending with the latest ``last_seen``; ``within`` (a query) narrows the listings
  (a vendor dossier passes its vendors' listings).
* :func:`substance_prices_steps` (prefix, substance, days) -> ``{substance,
  currencies: {CUR: {market: {day: median}}}, series: {"market (CUR)": {day: median}},
  counts: {...}, substances}`` -- the median price per gram (``price_per_gram``,
  :mod:`crawler.extractors.quantities`) of a substance's listings per market and
  currency, per day of ``fetched_at`` (when the price was read).  Currencies are
  never mixed and never converted: ``currencies`` holds one chart's series per
  currency (the listing's own ``price_currency``); ``series`` is the same numbers
  flat, one name per market and currency.  ``substances`` lists the substances
  that have prices per gram, for the chooser.
* :func:`index_growth_steps` (prefix, days) -> ``{pages: {day: total}, listings:
  {day: total}}`` -- documents in the index by the end of each day (by ``first_seen``).
* :func:`onion_states_steps` (prefix, days) -> ``{now: {up, down, unchecked},
  checks: {"up"|"down": {day: count}}}`` -- onion services up and down now,
  and the liveness checks per day by outcome.
* :func:`top_substances_steps` (prefix, size) -> ``[(substance, listings)]``.

Elasticsearch errors propagate (the API answers 503/502); a missing index
answers as empty.  Cost: one or two aggregation requests each; the per-day
listing count is a ``filters`` aggregation with one filter per day and market,
so ``days`` is capped at :data:`MAX_DAYS`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from config.schema import alias_name
from search.es_steps import Search, Steps

MAX_DAYS = 366
MAX_SERIES = 20  # markets (or market-currency pairs) drawn in one chart


def _day(value: Any) -> str | None:
    """The UTC day of an aggregation's date value (``value_as_string``), or None."""
    return str(value)[:10] if value else None


def _day_range(first: str, last: str, days: int) -> list[str]:
    end = date.fromisoformat(last)
    start = max(date.fromisoformat(first), end - timedelta(days=max(1, min(days, MAX_DAYS)) - 1))
    return [(start + timedelta(days=offset)).isoformat() for offset in range((end - start).days + 1)]


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def listings_per_market_steps(prefix: str, days: int = 90, market: str | None = None,
                              within: dict[str, Any] | None = None) -> Steps:
    index = alias_name(prefix, "listings")
    scope: list[dict[str, Any]] = [{"exists": {"field": "first_seen"}}, {"exists": {"field": "last_seen"}}]
    if within is not None:
        scope.append(within)
    if market:
        scope.append({"term": {"market": {"value": market, "case_insensitive": True}}})
    bounds = (yield Search(index, {
        "size": 0, "query": {"bool": {"filter": scope}},
        "aggs": {"first": {"min": {"field": "first_seen"}}, "last": {"max": {"field": "last_seen"}}},
    })).get("aggregations") or {}
    first, last = _day((bounds.get("first") or {}).get("value_as_string")), \
        _day((bounds.get("last") or {}).get("value_as_string"))
    if not first or not last:
        return {"days": [], "series": {}, "first_day": None, "last_day": None}
    day_list = _day_range(first, last, days)
    per_day = {
        day: {"bool": {"filter": [{"range": {"first_seen": {"lt": _next_day(day)}}},
                                  {"range": {"last_seen": {"gte": day}}}]}}
        for day in day_list
    }
    answer = yield Search(index, {
        "size": 0, "query": {"bool": {"filter": scope}},
        "aggs": {"markets": {"terms": {"field": "market", "size": MAX_SERIES, "order": {"_key": "asc"}},
                             "aggs": {"days": {"filters": {"filters": per_day}}}}},
    })
    series: dict[str, dict[str, int]] = {}
    for bucket in ((answer.get("aggregations") or {}).get("markets") or {}).get("buckets", []):
        counts = {day: day_bucket["doc_count"] for day, day_bucket in bucket["days"]["buckets"].items()
                  if day_bucket["doc_count"]}
        if counts:
            series[str(bucket["key"])] = dict(sorted(counts.items()))
    return {"days": day_list, "series": series, "first_day": day_list[0], "last_day": day_list[-1]}


def substance_prices_steps(prefix: str, substance: str | None, days: int = 90) -> Steps:
    index = alias_name(prefix, "listings")
    priced = {"exists": {"field": "price_per_gram"}}
    this_substance = {"term": {"substances": {"value": substance or "", "case_insensitive": True}}}
    choices = yield Search(index, {
        "size": 0, "query": {"bool": {"filter": [priced]}},
        "aggs": {"substances": {"terms": {"field": "substances", "size": 200, "order": {"_key": "asc"}}},
                 "chosen": {"filter": this_substance, "aggs": {"last": {"max": {"field": "fetched_at"}}}}},
    })
    aggregations = choices.get("aggregations") or {}
    substances = [str(bucket["key"]) for bucket in (aggregations.get("substances") or {}).get("buckets", [])]
    result: dict[str, Any] = {"substance": substance or None, "substances": substances, "currencies": {},
                              "series": {}, "counts": {}}
    last = _day(((aggregations.get("chosen") or {}).get("last") or {}).get("value_as_string"))
    if not substance or not last:
        return result
    # The window ends with the substance's latest price, not today: an old index still charts.
    first_day = _day_range("0001-01-01", last, days)[0]
    answer = yield Search(index, {
        "size": 0,
        "query": {"bool": {"filter": [
            priced, this_substance, {"range": {"fetched_at": {"gte": first_day}}},
        ]}},
        "aggs": {"markets": {"terms": {"field": "market", "size": MAX_SERIES, "order": {"_key": "asc"}}, "aggs": {
            "currencies": {"terms": {"field": "price_currency", "size": 10, "order": {"_key": "asc"}}, "aggs": {
                "days": {"date_histogram": {"field": "fetched_at", "calendar_interval": "day", "min_doc_count": 1,
                                            "format": "yyyy-MM-dd"},
                         "aggs": {"median": {"percentiles": {"field": "price_per_gram", "percents": [50]}}}},
            }},
        }}},
    })
    for market in ((answer.get("aggregations") or {}).get("markets") or {}).get("buckets", []):
        for currency in market["currencies"]["buckets"]:
            name = f"{market['key']} ({currency['key']})"
            medians: dict[str, float] = {}
            counts: dict[str, int] = {}
            for bucket in currency["days"]["buckets"]:
                value = (bucket["median"].get("values") or {}).get("50.0")
                if value is not None:
                    medians[bucket["key_as_string"]] = float(value)
                    counts[bucket["key_as_string"]] = bucket["doc_count"]
            if medians:
                result["series"][name] = medians
                result["counts"][name] = counts
                result["currencies"].setdefault(str(currency["key"]), {})[str(market["key"])] = medians
    result["currencies"] = dict(sorted(result["currencies"].items()))
    return result


def index_growth_steps(prefix: str, days: int = 90) -> Steps:
    growth: dict[str, dict[str, int]] = {}
    for kind in ("pages", "listings"):
        answer = yield Search(alias_name(prefix, kind), {
            "size": 0,
            "aggs": {"days": {
                "date_histogram": {"field": "first_seen", "calendar_interval": "day", "format": "yyyy-MM-dd"},
                "aggs": {"total": {"cumulative_sum": {"buckets_path": "_count"}}},
            }},
        })
        buckets = ((answer.get("aggregations") or {}).get("days") or {}).get("buckets", [])
        growth[kind] = {bucket["key_as_string"]: int(bucket["total"]["value"]) for bucket in buckets[-MAX_DAYS:]}
        if growth[kind]:
            kept = _day_range(min(growth[kind]), max(growth[kind]), days)
            growth[kind] = {day: total for day, total in growth[kind].items() if day >= kept[0]}
    return growth


def onion_states_steps(prefix: str, days: int = 90) -> Steps:
    onions = yield Search(alias_name(prefix, "onions"), {
        "size": 0,
        "aggs": {"up": {"terms": {"field": "up", "size": 2}}, "unchecked": {"missing": {"field": "up"}}},
    })
    aggregations = onions.get("aggregations") or {}
    now = {"up": 0, "down": 0, "unchecked": int((aggregations.get("unchecked") or {}).get("doc_count", 0))}
    for bucket in (aggregations.get("up") or {}).get("buckets", []):
        now["up" if bucket.get("key_as_string") == "true" or bucket.get("key") in (1, True) else "down"] += \
            bucket["doc_count"]
    checks_answer = yield Search(alias_name(prefix, "onion-checks"), {
        "size": 0,
        "query": {"range": {"checked_at": {"gte": f"now-{max(1, min(days, MAX_DAYS))}d/d"}}},
        "aggs": {"up": {"terms": {"field": "up", "size": 2}, "aggs": {"days": {
            "date_histogram": {"field": "checked_at", "calendar_interval": "day", "min_doc_count": 1,
                               "format": "yyyy-MM-dd"}}}}},
    })
    checks: dict[str, dict[str, int]] = {}
    for bucket in ((checks_answer.get("aggregations") or {}).get("up") or {}).get("buckets", []):
        state = "up" if bucket.get("key_as_string") == "true" or bucket.get("key") in (1, True) else "down"
        checks[state] = {day["key_as_string"]: day["doc_count"] for day in bucket["days"]["buckets"]}
    return {"now": now, "checks": dict(sorted(checks.items(), key=lambda item: item[0] != "up"))}


def top_substances_steps(prefix: str, size: int = 15) -> Steps:
    answer = yield Search(alias_name(prefix, "listings"), {
        "size": 0, "aggs": {"substances": {"terms": {"field": "substances", "size": max(1, min(size, 100))}}},
    })
    return [(str(bucket["key"]), int(bucket["doc_count"]))
            for bucket in ((answer.get("aggregations") or {}).get("substances") or {}).get("buckets", [])]
