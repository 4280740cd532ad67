"""CSV export: one row per record, identifiers joined by spaces.

Crawled text is hostile: a cell that a spreadsheet would read as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is
prefixed with an apostrophe, and control characters are dropped.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from typing import Any

from search.exports import ExportSet

COLUMNS = (
    "kind", "id", "title", "market", "vendor", "onion_host", "url", "fetched_at",
    "price_amount", "price_currency", "wallets", "pgp_fingerprints", "substances", "ships_from", "ships_to",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 10_000


def safe_cell(value: Any) -> str:
    """A value as a spreadsheet-safe string."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        text = " ".join(
            str(item.get("address", "")) if isinstance(item, dict) else str(item) for item in value
        )
    else:
        text = str(value)
    text = "".join(char for char in text if char in "\t" or unicodedata.category(char)[0] != "C")[:MAX_CELL_CHARS]
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    return text


def _row(record: dict[str, Any]) -> list[str]:
    values = dict(record)
    values["title"] = record.get("title") or record.get("name") or record.get("address") or record.get("host")
    return [safe_cell(values.get(column)) for column in COLUMNS]


def to_csv(export_set: ExportSet) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in export_set.records:
        writer.writerow(_row(record))
    return buffer.getvalue()
