"""Index templates as an older version of onionscope shipped them, for migration tests.

:func:`older_templates` copies the shipped templates into a folder and, per kind,
sets the schema version back and removes the fields that version did not have.
A field that is not in the shipped template raises KeyError: a renamed field
must not leave a migration test quietly testing nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipelines import indices


def older_templates(folder: Path, kinds: dict[str, tuple[int, tuple[str, ...]]]) -> Path:
    """``folder`` holding the shipped templates, each kind in ``kinds`` at ``(schema_version, without_fields)``."""
    shutil.copytree(indices.DEFAULT_TEMPLATES_DIR, folder)
    for kind, (version, without) in kinds.items():
        path = folder / f"{kind}.json"
        template = json.loads(path.read_text(encoding="utf-8"))
        template["schema_version"] = template["mappings"]["_meta"]["schema_version"] = version
        for name in without:
            del template["mappings"]["properties"][name]
        path.write_text(json.dumps(template), encoding="utf-8")
    return folder
