"""JSON export: the records and the identifiers gathered from them, as one document."""

from __future__ import annotations

import json

from search.exports import ExportSet


def to_json(export_set: ExportSet) -> str:
    document = {
        "title": export_set.title,
        "generated_at": export_set.generated_at,
        "generator": "onionscope",
        "records": export_set.records,
        "identifiers": {
            "wallets": [{"address": address, "coin": coin} for address, coin in sorted(export_set.wallets.items())],
            "onions": sorted(export_set.onions),
            "pgp_fingerprints": sorted(export_set.pgp_fingerprints),
            "emails": sorted(export_set.emails),
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)
