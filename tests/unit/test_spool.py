from __future__ import annotations

import json
from pathlib import Path

from pipelines.spool import SpoolWriter, claim, rewrite, spool_files


def test_records_are_written_claimed_and_rewritten(tmp_path: Path) -> None:
    writer = SpoolWriter(tmp_path / "spool")
    assert spool_files(tmp_path / "spool") == []  # nothing is created before the first record
    writer.write({"record": "document", "id": "a", "error": "boom"})
    writer.write({"record": "document", "id": "b", "error": "boom"})
    [path] = spool_files(tmp_path / "spool")
    with claim(path) as records:
        assert records is None  # the writer still holds it
    writer.close()
    with path.open("a") as handle:
        handle.write("not json\n")
    with claim(path) as records:
        assert records is not None
        assert [r.get("id") for r in records] == ["a", "b", None]
        assert records[0]["spooled_at"].endswith("Z")
        rewrite(path, [records[1], records[2]])
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["id"] == "b" and lines[1] == "not json"  # an unreadable line is kept verbatim
    with claim(path) as records:
        assert records is not None
        rewrite(path, [])
    assert not path.exists()
