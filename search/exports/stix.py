"""STIX 2.1 bundle: onions and wallets as observables and indicators.

* An onion host is a standard ``domain-name`` observable, with an indicator
  ``[domain-name:value = 'host.onion']``.
* STIX 2.1 has no standard object for a cryptocurrency wallet, so this
  bundle defines one honestly: an ``extension-definition`` (``new-sco``)
  made by onionscope describes the ``cryptocurrency-wallet`` observable
  (properties ``value`` = the address, ``currency`` = the coin ticker), every
  wallet observable names that extension, and its indicator's pattern is
  ``[cryptocurrency-wallet:value = '...']``.
* Each observable is wrapped in ``observed-data`` (first and last seen from
  the records), and each indicator is ``based-on`` it.

Identifiers are deterministic: observables use the STIX 2.1 UUIDv5 rule
(namespace ``00abedb4-...`` over their identifying properties), everything
else a UUIDv5 in onionscope's namespace, so exporting the same data twice
gives the same ids.

Public API: :func:`to_stix_bundle` (export_set) -> dict;
:func:`pattern_string` (value) -> a STIX pattern string literal.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from config.i18n import SOURCE_LANGUAGE, Translator, translator
from search.exports import ExportSet

STIX_SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")
ONIONSCOPE_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:onionscope:stix")
WALLET_SCO_TYPE = "cryptocurrency-wallet"
EXTENSION_ID = f"extension-definition--{uuid.uuid5(ONIONSCOPE_NAMESPACE, 'extension:cryptocurrency-wallet:1.0.0')}"
IDENTITY_ID = f"identity--{uuid.uuid5(ONIONSCOPE_NAMESPACE, 'identity:onionscope')}"
# A fixed creation time keeps the shared objects identical across exports.
FIXED_CREATED = "2026-01-01T00:00:00.000Z"


def _stix_time(iso: str | None, fallback: str) -> str:
    """ISO-8601 UTC with milliseconds, as STIX timestamps are written."""
    if not iso:
        return fallback
    text = iso.rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        return f"{head}.{(fraction + '000')[:3]}Z"
    if len(text) == 10:
        text += "T00:00:00"
    return f"{text}.000Z"


def _sco_id(sco_type: str, identifying: dict[str, Any]) -> str:
    canonical = json.dumps(identifying, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{sco_type}--{uuid.uuid5(STIX_SCO_NAMESPACE, canonical)}"


def _sdo_id(sdo_type: str, key: str) -> str:
    return f"{sdo_type}--{uuid.uuid5(ONIONSCOPE_NAMESPACE, f'{sdo_type}:{key}')}"


def pattern_string(value: str) -> str:
    """A STIX pattern string literal: backslash and quote escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _shared_objects(now: str) -> list[dict[str, Any]]:
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": IDENTITY_ID,
        "created": FIXED_CREATED,
        "modified": FIXED_CREATED,
        "name": "onionscope",
        "identity_class": "system",
    }
    extension = {
        "type": "extension-definition",
        "spec_version": "2.1",
        "id": EXTENSION_ID,
        "created_by_ref": IDENTITY_ID,
        "created": FIXED_CREATED,
        "modified": FIXED_CREATED,
        "name": "cryptocurrency-wallet",
        "description": "A cryptocurrency wallet address seen on an onion service.",
        "schema": (
            "New SCO 'cryptocurrency-wallet' with properties: value (string, required; the address as written "
            "on the page) and currency (string; lower-case coin ticker such as btc, xmr, ltc, eth). "
            "Its id is derived from value with the STIX 2.1 SCO UUIDv5 rule."
        ),
        "version": "1.0.0",
        "extension_types": ["new-sco"],
    }
    return [identity, extension]


def _window(sightings: list[dict[str, Any]], now: str) -> tuple[str, str]:
    times = sorted(_stix_time(sighting.get("fetched_at"), now) for sighting in sightings if sighting.get("fetched_at"))
    return (times[0], times[-1]) if times else (now, now)


def _description(sightings: list[dict[str, Any]], t: Translator) -> str:
    markets = sorted({str(sighting["market"]) for sighting in sightings if sighting.get("market")})
    kinds = sorted({str(sighting["kind"]) for sighting in sightings if sighting.get("kind")})
    text = t("Seen in {count} crawled record(s)", count=len(sightings))
    if kinds:
        text += f" ({', '.join(t(kind) for kind in kinds)})"
    if markets:
        text += " " + t("on market(s): {markets}", markets=", ".join(markets))
    return text + "."


def _observation(
    objects: list[dict[str, Any]], sco: dict[str, Any], pattern: str, name: str, sightings: list[dict[str, Any]],
    now: str, t: Translator,
) -> None:
    first, last = _window(sightings, now)
    observed = {
        "type": "observed-data",
        "spec_version": "2.1",
        "id": _sdo_id("observed-data", sco["id"]),
        "created_by_ref": IDENTITY_ID,
        "created": now,
        "modified": now,
        "first_observed": first,
        "last_observed": last,
        "number_observed": max(1, len(sightings)),
        "object_refs": [sco["id"]],
    }
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": _sdo_id("indicator", pattern),
        "created_by_ref": IDENTITY_ID,
        "created": now,
        "modified": now,
        "name": name,
        "description": _description(sightings, t),
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": first,
    }
    relationship = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": _sdo_id("relationship", f"{indicator['id']}>based-on>{observed['id']}"),
        "created_by_ref": IDENTITY_ID,
        "created": now,
        "modified": now,
        "relationship_type": "based-on",
        "source_ref": indicator["id"],
        "target_ref": observed["id"],
    }
    objects.extend([sco, observed, indicator, relationship])


def to_stix_bundle(export_set: ExportSet, language: str = SOURCE_LANGUAGE) -> dict[str, Any]:
    """The export as a STIX 2.1 bundle; names and descriptions in ``language`` (ids do not depend on them)."""
    t = translator(language)
    now = _stix_time(export_set.generated_at, FIXED_CREATED)
    objects = _shared_objects(now)
    for host in sorted(export_set.onions):
        sco = {"type": "domain-name", "spec_version": "2.1", "id": _sco_id("domain-name", {"value": host}), "value": host}
        _observation(
            objects, sco, f"[domain-name:value = {pattern_string(host)}]", t("Onion service {host}", host=host),
            export_set.sightings.get(host, []), now, t,
        )
    for address, coin in sorted(export_set.wallets.items()):
        sco = {
            "type": WALLET_SCO_TYPE,
            "spec_version": "2.1",
            "id": _sco_id(WALLET_SCO_TYPE, {"value": address}),
            "value": address,
            "extensions": {EXTENSION_ID: {"extension_type": "new-sco"}},
        }
        if coin:
            sco["currency"] = coin
        _observation(
            objects, sco, f"[{WALLET_SCO_TYPE}:value = {pattern_string(address)}]",
            t("{coin} wallet {address}", coin=(coin or t("cryptocurrency")).upper(), address=address),
            export_set.sightings.get(address, []), now, t,
        )
    bundle_key = json.dumps([export_set.title, sorted(obj["id"] for obj in objects)])
    return {"type": "bundle", "id": f"bundle--{uuid.uuid5(ONIONSCOPE_NAMESPACE, bundle_key)}", "objects": objects}
