from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import stat
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pipelines.spool import SpoolFullError, SpoolWriter, claim, rewrite, spool_files


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


def _replay_everything(spool_dir: Path, taken: list[dict[str, Any]]) -> None:
    """What a replay that indexes every record does: claim each file, take its records, delete it."""
    for path in spool_files(spool_dir):
        with claim(path) as records:
            if records is not None:
                taken.extend(records)
                rewrite(path, [])


def test_a_replay_at_any_step_of_the_writer_creating_its_file_takes_nothing_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool_dir = tmp_path / "spool"
    taken: list[dict[str, Any]] = []
    races = 0
    replaying = False

    def race() -> None:
        nonlocal races, replaying
        replaying = True
        try:
            _replay_everything(spool_dir, taken)
        finally:
            replaying = False
        races += 1

    def with_a_replay_around(function: Callable[..., Any]) -> Callable[..., Any]:
        # The synchronisation points: a whole replay runs right before and right after each
        # locking or naming step the writer takes (the replay's own calls pass straight through).
        def hooked(*args: Any, **kwargs: Any) -> Any:
            if replaying:
                return function(*args, **kwargs)
            race()
            result = function(*args, **kwargs)
            race()
            return result
        return hooked

    monkeypatch.setattr(fcntl, "flock", with_a_replay_around(fcntl.flock))
    for name in ("link", "rename", "replace"):
        monkeypatch.setattr(os, name, with_a_replay_around(getattr(os, name)))
    writer = SpoolWriter(spool_dir)
    writer.write({"record": "document", "id": "a"})
    writer.write({"record": "document", "id": "b"})
    monkeypatch.undo()
    assert races >= 2 and taken == []  # the replays ran, and found nothing they could take
    writer.close()
    _replay_everything(spool_dir, taken)
    assert [record["id"] for record in taken] == ["a", "b"]


@pytest.mark.parametrize("first_leaves", [[], ["c"]], ids=["first-replay-took-all", "first-replay-left-one"])
def test_a_replay_that_opened_the_file_before_another_finished_takes_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_leaves: list[str]
) -> None:
    writer = SpoolWriter(tmp_path / "spool")
    for record_id in ("a", "b", "c"):
        writer.write({"record": "document", "id": record_id})
    writer.close()
    [path] = spool_files(tmp_path / "spool")
    indexed: Counter[str] = Counter()
    real_flock = fcntl.flock
    first_ran = False

    def first_replay() -> None:
        with claim(path) as records:
            assert records is not None
            indexed.update(r["id"] for r in records if r["id"] not in first_leaves)
            rewrite(path, [r for r in records if r["id"] in first_leaves])

    def flock_after_the_first_replay(fd: Any, operation: int) -> None:
        # The synchronisation point: the second replay has opened the file and is about to
        # lock it; the first replay runs from start to end right now.
        nonlocal first_ran
        if not first_ran:
            first_ran = True
            first_replay()
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_the_first_replay)
    with claim(path) as records:  # the second replay
        if records is not None:
            indexed.update(r["id"] for r in records)
            rewrite(path, [])
    monkeypatch.undo()
    assert first_ran
    left = []
    for remaining in spool_files(tmp_path / "spool"):
        with claim(remaining) as records:
            assert records is not None
            left += [r["id"] for r in records]
    # Each record is indexed once, or still waits in the spool; none is replayed twice.
    assert max(indexed.values()) == 1
    assert sorted([*indexed, *left]) == ["a", "b", "c"]


def test_spool_folder_is_0700_and_its_files_0600_whatever_the_umask(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir(mode=0o755)
    os.chmod(spool_dir, 0o755)  # an existing folder from an older version
    previous = os.umask(0o022)
    try:
        writer = SpoolWriter(spool_dir)
        writer.write({"record": "document", "id": "a"})
        writer.write({"record": "document", "id": "b"})
        writer.close()
        [path] = spool_files(spool_dir)
        assert stat.S_IMODE(spool_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with claim(path) as records:
            assert records is not None
            rewrite(path, records[1:])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in spool_dir.iterdir()) == [path.name]  # no temporary file left behind
    finally:
        os.umask(previous)


def test_each_writer_gets_its_own_file(tmp_path: Path) -> None:
    writers = [SpoolWriter(tmp_path / "spool") for _ in range(5)]
    for number, writer in enumerate(writers):
        writer.write({"record": "document", "id": str(number)})
    paths = {writer.path for writer in writers}
    for writer in writers:
        writer.close()
    assert len(paths) == 5 and set(spool_files(tmp_path / "spool")) == paths


@pytest.fixture
def tiny_file_system(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB tmpfs (root only), unmounted afterwards: writes past it fail with ENOSPC."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_refuses_the_record_whole_and_leaves_every_spooled_record_readable(tiny_file_system: Path) -> None:
    spool_dir = tiny_file_system / "spool"
    writer = SpoolWriter(spool_dir)
    written: list[str] = []
    with pytest.raises(SpoolFullError) as refused:
        for number in range(1000):
            # Not a multiple of the page size: the record that does not fit is torn part-way.
            writer.write({"record": "document", "id": str(number), "body": "x" * 3001})
            written.append(str(number))
    assert refused.value.errno == errno.ENOSPC
    assert str(spool_dir) in str(refused.value) and "full" in str(refused.value)
    for number in range(3):  # later records are refused too, and leave nothing behind
        with pytest.raises(SpoolFullError):
            writer.write({"record": "document", "id": f"late-{number}", "body": "y" * 5000})
    writer.close()  # nothing buffered is left to flush onto the full disk
    [path] = spool_files(spool_dir)
    with claim(path) as records:
        assert records is not None
        assert [record.get("record") for record in records] == ["document"] * len(written)
        assert [record["id"] for record in records] == written
    assert len(written) >= 10


def test_the_spool_writes_again_once_space_is_freed(tiny_file_system: Path) -> None:
    filler = tiny_file_system / "filler"
    filler.write_bytes(b"f" * 48 * 1024)
    writer = SpoolWriter(tiny_file_system / "spool")
    with pytest.raises(SpoolFullError):
        for number in range(100):
            writer.write({"record": "document", "id": str(number), "body": "x" * 3001})
    filler.unlink()
    writer.write({"record": "document", "id": "after", "body": "z"})
    writer.close()
    [path] = spool_files(tiny_file_system / "spool")
    with claim(path) as records:
        assert records is not None and records[-1]["id"] == "after"
        assert all(record.get("record") == "document" for record in records)
