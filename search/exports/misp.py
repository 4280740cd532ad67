"""MISP event JSON: one event, one attribute per identifier.

Attribute types come from MISP's own type list: ``btc``, ``xmr`` and
``dash`` (category "Financial fraud") for wallets of those coins; other coins
as ``text`` in "Financial fraud" with the coin in the comment; onion hosts
as ``domain`` ("Network activity", comment "Tor onion service"); PGP
fingerprints as ``text`` ("Person"); e-mails as ``email`` ("Social network");
listing and page URLs as ``url`` with ``to_ids`` off.  UUIDs are UUIDv5, so
the same data exports to the same attributes.

Public API: :func:`to_misp_event` (export_set) -> dict (``{"Event": {...}}``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from config.i18n import SOURCE_LANGUAGE, Translator, translator
from search.exports import ExportSet

MISP_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:onionscope:misp")
COIN_TYPES = {"btc": "btc", "xmr": "xmr", "dash": "dash"}
MAX_COMMENT_CHARS = 500


def _epoch(iso: str) -> str:
    return str(int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()))


def _comment(sightings: list[dict[str, Any]], t: Translator, lead: str = "") -> str:
    markets = sorted({str(sighting["market"]) for sighting in sightings if sighting.get("market")})
    text = lead
    if sightings:
        text += ("; " if text else "") + t("seen in {count} record(s)", count=len(sightings))
    if markets:
        text += " " + t("on {markets}", markets=", ".join(markets))
    return text[:MAX_COMMENT_CHARS]


def to_misp_event(export_set: ExportSet, language: str = SOURCE_LANGUAGE) -> dict[str, Any]:
    """The export as one MISP event; comments in ``language`` (MISP's own types and categories stay as MISP names them)."""
    t = translator(language)
    timestamp = _epoch(export_set.generated_at)
    event_uuid = str(uuid.uuid5(MISP_NAMESPACE, "event:" + export_set.title))
    attributes: list[dict[str, Any]] = []

    def add(attribute_type: str, category: str, value: str, comment: str, to_ids: bool) -> None:
        attributes.append(
            {
                "uuid": str(uuid.uuid5(MISP_NAMESPACE, f"{event_uuid}:{attribute_type}:{value}")),
                "type": attribute_type,
                "category": category,
                "value": value,
                "to_ids": to_ids,
                "comment": comment,
                "distribution": "5",
                "timestamp": timestamp,
            }
        )

    for address, coin in sorted(export_set.wallets.items()):
        sightings = export_set.sightings.get(address, [])
        if coin in COIN_TYPES:
            add(COIN_TYPES[coin], "Financial fraud", address, _comment(sightings, t), True)
        else:
            add("text", "Financial fraud", address, _comment(sightings, t, t("{coin} wallet address", coin=coin or t("unknown coin"))), True)
    for host in sorted(export_set.onions):
        add("domain", "Network activity", host, _comment(export_set.sightings.get(host, []), t, t("Tor onion service")), True)
    for fingerprint in sorted(export_set.pgp_fingerprints):
        add("text", "Person", fingerprint, _comment(export_set.sightings.get(fingerprint, []), t, t("PGP key fingerprint")), False)
    for email in sorted(export_set.emails):
        add("email", "Social network", email, t("e-mail address on a crawled page"), False)
    urls = sorted({str(record["url"]) for record in export_set.records if record.get("url")})[:1000]
    for url in urls:
        add("url", "Network activity", url, t("crawled page"), False)
    return {
        "Event": {
            "uuid": event_uuid,
            "info": export_set.title[:MAX_COMMENT_CHARS],
            "date": export_set.generated_at[:10],
            "timestamp": timestamp,
            "threat_level_id": "4",
            "analysis": "0",
            "distribution": "0",
            "published": False,
            "Tag": [{"name": "onionscope"}, {"name": "tlp:amber"}],
            "Attribute": attributes,
        }
    }
