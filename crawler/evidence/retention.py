"""Keeping evidence: protected marks, and the prune that applies ``evidence_keep_days``.

Protected marks live in ``<evidence_dir>/protected.jsonl``, one JSON object per line
(``file``, ``offset``, ``digest``, ``reason``, ``marked_at``), appended under a lock so an
export, the watch helper and a prune can run at once.  A WARC file with at least one marked
record is kept forever.

:func:`prune` removes **whole WARC files** (the ``.warc.gz`` and its manifest together) and
never rewrites one, so every file it keeps verifies exactly as before.  A file goes when
``evidence_keep_days`` is not 0, the newest record in its manifest was fetched more than that
many days ago (a file without a readable manifest is judged by its modification time) and no
record of it is protected.  A file still being written (no seal yet and modified within the
keep period) is never old enough to go.

Public API: :func:`mark_protected` (evidence_dir, ref, reason) -> the mark written;
:func:`protected_files` (evidence_dir) -> {file: [reasons]}; :func:`prune` (evidence_dir,
keep_days, now=None, dry_run=False) -> :class:`PruneReport`.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from crawler.evidence.chain import EvidenceRef, ManifestError, manifest_path, read_manifest, warc_files

PROTECTED_FILE = "protected.jsonl"
_LOCK_FILE = ".protected.lock"


@contextmanager
def _locked(evidence_dir: Path) -> Iterator[None]:
    evidence_dir.mkdir(parents=True, exist_ok=True)
    with open(evidence_dir / _LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def mark_protected(evidence_dir: str | os.PathLike[str], ref: EvidenceRef | dict[str, Any], reason: str) -> dict[str, Any]:
    """Keep the WARC file holding ``ref`` forever (an export or a watchlist touched it); returns the mark.

    ``ref`` is an :class:`EvidenceRef` or a document's ``evidence`` object; ``reason`` is
    free text (``"export <hit id>"``, ``"watchlist <id>"``), capped at 500 characters.
    Raises ValueError for a malformed ref and OSError when the file cannot be written.
    """
    ref = ref if isinstance(ref, EvidenceRef) else EvidenceRef.from_doc(ref)
    directory = Path(evidence_dir)
    mark = {"file": ref.file, "offset": ref.offset, "digest": ref.digest, "record_id": ref.record_id,
            "reason": str(reason)[:500], "marked_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    line = json.dumps(mark, ensure_ascii=True, separators=(",", ":")) + "\n"
    with _locked(directory):
        with open(directory / PROTECTED_FILE, "a", encoding="ascii") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
    return mark


def protected_files(evidence_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    """WARC file name (relative to ``evidence_dir``) -> the reasons it is protected. Unreadable lines are skipped."""
    path = Path(evidence_dir) / PROTECTED_FILE
    found: dict[str, list[str]] = {}
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except FileNotFoundError:
        return found
    for line in lines:
        try:
            mark = json.loads(line)
            found.setdefault(str(mark["file"]), []).append(str(mark.get("reason", "")))
        except (ValueError, KeyError, TypeError):
            continue
    return found


@dataclass
class PruneReport:
    """What a prune did: files removed (with their bytes and newest fetch), kept as protected, kept as recent."""

    removed: list[dict[str, Any]] = field(default_factory=list)
    protected: list[dict[str, Any]] = field(default_factory=list)
    kept_recent: int = 0
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"removed": self.removed, "protected": self.protected, "kept_recent": self.kept_recent,
                "dry_run": self.dry_run}


def _newest_record(warc: Path) -> datetime:
    try:
        header, entries, seal = read_manifest(manifest_path(warc))
    except ManifestError:
        return datetime.fromtimestamp(warc.stat().st_mtime, timezone.utc)
    instants = [entry.get("fetched_at") for entry in entries if entry.get("fetched_at")]
    instants += [header.get("created_at")] if not instants else []
    newest = None
    for value in instants:
        try:
            instant = datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        except ValueError:
            continue
        newest = instant if newest is None or instant > newest else newest
    modified = datetime.fromtimestamp(warc.stat().st_mtime, timezone.utc)
    if newest is None or seal is None:
        # Unsealed: possibly still being written; its modification time counts too.
        return max(newest, modified) if newest is not None else modified
    return newest


def prune(evidence_dir: str | os.PathLike[str], keep_days: int, *, now: datetime | None = None,
          dry_run: bool = False) -> PruneReport:
    """Remove the whole WARC files (and manifests) past ``keep_days`` that nothing protects.

    Returns a :class:`PruneReport`.  ``keep_days`` 0 keeps everything.  Raises OSError when a
    file cannot be removed.
    """
    directory = Path(evidence_dir)
    report = PruneReport(dry_run=dry_run)
    if not directory.exists():
        return report
    now = now or datetime.now(timezone.utc)
    cutoff = now - timedelta(days=keep_days)
    with _locked(directory):
        protected = protected_files(directory)
        for warc in warc_files([directory]):
            name = str(warc.relative_to(directory))
            if keep_days == 0:
                report.kept_recent += 1
                continue
            newest = _newest_record(warc)
            if newest >= cutoff:
                report.kept_recent += 1
                continue
            if name in protected:
                report.protected.append({"file": name, "reasons": sorted(set(protected[name]))})
                continue
            size = warc.stat().st_size
            if not dry_run:
                manifest = manifest_path(warc)
                warc.unlink()
                if manifest.exists():
                    manifest.unlink()
            report.removed.append({"file": name, "bytes": size,
                                   "newest_record": newest.strftime("%Y-%m-%dT%H:%M:%SZ")})
    return report
