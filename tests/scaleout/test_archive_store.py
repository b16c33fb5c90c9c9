"""Archives on object storage: a session written on one replica is uploaded when it ends and
read back on another; owner checks hold; failures keep the local copy and are retried."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileSystem

from googlive.features.results.archive import SessionArchive, write_analysis
from googlive.features.results.archive_attach import attach_store, detach_store
from googlive.features.results.archive_layout import SessionNotFound, owner_hash
from googlive.features.results.archive_owner import list_sessions, open_session, resolve_session
from googlive.features.results.archive_store import (
    ArchiveStore,
    StoreError,
    open_store,
    redact_url,
    safe_relpath,
)
from googlive.features.results.archive_upload import Uploader
from tests.scaleout.conftest import wait_until

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


class Replica:
    """One replica's data dir attached to a shared store (what app.py does per process)."""

    def __init__(self, data: Path, url: str, fs: object = None, **uploader_kw: object) -> None:
        self.data = data
        self.store = ArchiveStore(url, data, fs=fs)
        self.uploader = Uploader(self.store, **uploader_kw)  # type: ignore[arg-type]
        attach_store(data, self.store, self.uploader)

    def close(self) -> None:
        self.uploader.close(5)
        detach_store(self.data)


@pytest.fixture
def replicas(tmp_path: Path):
    made: list[Replica] = []

    def make(name: str, url: str | None = None, **kw: object) -> Replica:
        r = Replica(tmp_path / name, url or f"file://{tmp_path / 'bucket'}", **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def _conversation(data: Path, owner: str, words: str = "the blue notebook") -> SessionArchive:
    a = SessionArchive.create(data, owner)
    a.append_transcript("user", f"Please remember {words}", 0.5, 1)
    a.append_transcript("model", "I will remember it.", 1.5, 1, latency_ms=320)
    a.save_snapshot("snap1", JPEG, {"t_s": 1.0, "reason": "look"})
    a.recording_path.write_bytes(b"\x1aE\xdf\xa3" + b"\x00" * 128)  # what the recorder leaves
    return a


def test_finished_session_is_uploaded_and_listed_and_opened_on_another_replica(replicas, tmp_path):
    a, b = replicas("a"), replicas("b")
    arch = _conversation(a.data, "alice")
    arch.close()
    assert a.uploader.wait_idle(10)
    bucket = tmp_path / "bucket" / "sessions" / owner_hash("alice") / arch.session_id
    assert {p.relative_to(bucket).as_posix() for p in bucket.rglob("*") if p.is_file()} == {
        "meta.json",
        "transcript.jsonl",
        "events.jsonl",
        "recording.webm",
        "snapshots/snap1.jpg",
        "snapshots/snap1.json",
    }

    listed = list_sessions(b.data, "alice")
    assert [s.id for s in listed] == [arch.session_id]
    assert listed[0].title == "Please remember the blue notebook" and listed[0].turns == 1
    assert listed[0].has_recording  # known from the store before the media are fetched
    local_b = b.data / "sessions" / owner_hash("alice") / arch.session_id
    assert not (local_b / "recording.webm").exists()  # listing fetches the small files only

    opened = open_session(b.data, "alice", arch.session_id)
    assert opened.recording is not None and opened.recording.read_bytes().startswith(
        b"\x1aE\xdf\xa3"
    )
    assert [s.path.read_bytes() for s in opened.snapshots] == [JPEG]
    assert opened.closed and [ln.text for ln in opened.transcript][1] == "I will remember it."


def test_other_owner_sees_nothing_on_any_replica(replicas):
    a, b = replicas("a"), replicas("b")
    arch = _conversation(a.data, "alice")
    arch.close()
    assert a.uploader.wait_idle(10)
    assert list_sessions(b.data, "mallory") == []
    with pytest.raises(SessionNotFound):
        resolve_session(b.data, "mallory", arch.session_id)
    assert not (b.data / "sessions" / owner_hash("alice")).exists()  # nothing fetched for her
    assert list_sessions(b.data, "alice")  # the owner herself does see it


def test_analysis_made_on_one_replica_reaches_the_other(replicas):
    a, b = replicas("a"), replicas("b")
    arch = _conversation(a.data, "alice")
    arch.close()
    assert a.uploader.wait_idle(10)
    path_b = resolve_session(b.data, "alice", arch.session_id)
    write_analysis(path_b, {"ok": True, "analysis": {"summary": "made on b"}})
    assert b.uploader.wait_idle(10)
    opened_a = open_session(a.data, "alice", arch.session_id)
    assert opened_a.analysis == {"ok": True, "analysis": {"summary": "made on b"}}
    assert list_sessions(a.data, "alice")[0].has_analysis


def test_local_change_wins_over_a_stored_one_until_it_is_uploaded(replicas, tmp_path):
    a, b = replicas("a"), replicas("b", retry_every_s=3600)
    arch = _conversation(a.data, "alice")
    arch.close()
    assert a.uploader.wait_idle(10)
    path_b = resolve_session(b.data, "alice", arch.session_id)
    b.uploader.close(5)  # b goes quiet: its next change stays local
    write_analysis(path_b, {"ok": True, "analysis": {"summary": "b, not uploaded"}})
    write_analysis(
        resolve_session(a.data, "alice", arch.session_id),
        {"ok": True, "analysis": {"summary": "a"}},
    )
    assert a.uploader.wait_idle(10)
    assert (
        open_session(b.data, "alice", arch.session_id).analysis["analysis"]["summary"]
        == "b, not uploaded"
    )
    assert b.store.pending(path_b) == ["analysis.json"]


def test_doctored_store_names_are_ignored(replicas, tmp_path):
    a = replicas("a")
    oh = owner_hash("alice")
    base = tmp_path / "bucket" / "sessions" / oh
    good = base / "20260101T000000Z-abcdef"
    good.mkdir(parents=True)
    (good / "meta.json").write_text(json.dumps({"session_id": good.name, "started": "x"}))
    (good / ".hidden.json").write_text("{}")
    (good / "deep" / "er").mkdir(parents=True)
    (good / "deep" / "er" / "x.json").write_text("{}")
    (base / "not-a-session").mkdir()
    (base / "not-a-session" / "meta.json").write_text("{}")
    assert [s.id for s in list_sessions(a.data, "alice")] == [good.name]
    local = a.data / "sessions" / oh
    assert sorted(p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()) == [
        f"{good.name}/.store.json",
        f"{good.name}/meta.json",
    ]
    for bad in (
        "../x.json",
        "a/../../b.json",
        ".store.json",
        "snapshots/../meta.json",
        "recordings/x.webm",
        "snapshots/a/b.jpg",
        "meta",
        "",
    ):
        assert not safe_relpath(bad), bad
    assert safe_relpath("snapshots/snap-1.jpg") and safe_relpath("recording.webm")


class FlakyFS(LocalFileSystem):
    """The local file system whose uploads fail while `down` is set (an outage)."""

    down = True
    puts = 0

    def put_file(self, lpath, rpath, **kw):  # type: ignore[override]
        type(self).puts += 1
        if type(self).down:
            raise OSError("token=AKIA-SHOULD-NOT-BE-LOGGED while talking to the store")
        return super().put_file(lpath, rpath, **kw)


def test_failed_upload_keeps_local_copy_is_retried_and_logs_the_id_only(replicas, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="googlive")
    FlakyFS.down, FlakyFS.puts = True, 0
    a = replicas(
        "a", fs=FlakyFS(skip_instance_cache=True), retry_every_s=0.2, backoff_s=(0.01, 0.01)
    )
    arch = _conversation(a.data, "alice")
    arch.close()
    wait_until(lambda: a.uploader.failed == [arch.session_id])
    assert FlakyFS.puts == 3  # one round: three attempts
    assert (arch.path / "transcript.jsonl").is_file()  # the local copy stays
    failed = [r.getMessage() for r in caplog.records if "upload failed" in r.getMessage()]
    assert failed and arch.session_id in failed[0] and "OSError" in failed[0]
    assert "AKIA" not in caplog.text and "alice" not in caplog.text
    FlakyFS.down = False  # the store is back: the next round uploads it
    wait_until(
        lambda: (
            tmp_path / "bucket" / "sessions" / owner_hash("alice") / arch.session_id / "meta.json"
        ).is_file()
    )
    wait_until(lambda: a.uploader.failed == [])


def test_sweep_uploads_sessions_left_by_an_earlier_run(tmp_path):
    data = tmp_path / "a"
    old = _conversation(data, "alice")  # a run that was killed: never closed, never uploaded
    store = ArchiveStore(f"file://{tmp_path / 'bucket'}", data)
    up = Uploader(store)
    try:
        assert up.sweep() == 1
        assert up.wait_idle(10)
        stored = tmp_path / "bucket" / "sessions" / owner_hash("alice") / old.session_id
        assert (stored / "transcript.jsonl").read_bytes() == (
            old.path / "transcript.jsonl"
        ).read_bytes()
        assert up.sweep() == 0  # nothing changed since
        assert up.sweep(before_unix=0) == 0  # sessions after the cut-off are left alone
    finally:
        up.close(5)
        old.close()


class CountingFS(LocalFileSystem):
    calls = 0

    def find(self, *a, **kw):  # type: ignore[override]
        type(self).calls += 1
        return super().find(*a, **kw)


async def test_readers_on_the_event_loop_never_touch_the_store(replicas):
    CountingFS.calls = 0
    a = replicas("a", fs=CountingFS(skip_instance_cache=True))
    arch = _conversation(a.data, "alice")
    assert asyncio.get_running_loop()
    assert [s.id for s in list_sessions(a.data, "alice")] == [arch.session_id]  # local copy
    resolve_session(a.data, "alice", arch.session_id)
    assert CountingFS.calls == 0
    await asyncio.to_thread(list_sessions, a.data, "alice")  # a worker thread may
    assert CountingFS.calls == 1
    arch.close()


def test_s3_store_through_moto(moto_s3, tmp_path):
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="archives")
    a = Replica(tmp_path / "a", "s3://archives/googlive")
    b = Replica(tmp_path / "b", "s3://archives/googlive")
    try:
        arch = _conversation(a.data, "alice")
        arch.close()
        assert a.uploader.wait_idle(20)
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket="archives")["Contents"]}
        prefix = f"googlive/sessions/{owner_hash('alice')}/{arch.session_id}/"
        assert {
            prefix + n
            for n in ("meta.json", "transcript.jsonl", "recording.webm", "snapshots/snap1.jpg")
        } <= keys
        assert [s.id for s in list_sessions(b.data, "alice")] == [arch.session_id]
        assert open_session(b.data, "alice", arch.session_id).recording is not None
        assert list_sessions(b.data, "bob") == []
    finally:
        a.close()
        b.close()


def test_store_urls_and_options_are_checked(tmp_path):
    assert open_store(None, tmp_path) is None and open_store("", tmp_path) is None
    with pytest.raises(StoreError, match="not supported"):
        open_store("ftp://host/x", tmp_path)
    with pytest.raises(StoreError, match="not supported"):
        open_store("/just/a/path", tmp_path)
    with pytest.raises(StoreError, match="JSON object"):
        open_store("file:///tmp/x", tmp_path, "[1, 2]")
    with pytest.raises(StoreError, match="JSON object"):
        open_store("file:///tmp/x", tmp_path, "{nope")
    assert redact_url("s3://KEY:SECRET@bucket/prefix?token=x") == "s3://bucket/prefix"
    store = open_store(f"file://{tmp_path}/b", tmp_path)
    assert "SECRET" not in repr(store) and store.root == f"{tmp_path}/b"


class GatedFS(LocalFileSystem):
    """Uploads wait for `gate`: a slow store."""

    gate = threading.Event()

    def put_file(self, lpath, rpath, **kw):  # type: ignore[override]
        assert type(self).gate.wait(20)
        return super().put_file(lpath, rpath, **kw)


def test_full_upload_queue_keeps_sessions_local_and_sends_them_later(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="googlive")
    GatedFS.gate.clear()
    data = tmp_path / "a"
    store = ArchiveStore(
        f"file://{tmp_path / 'bucket'}", data, fs=GatedFS(skip_instance_cache=True)
    )
    up = Uploader(store, queue_size=1, retry_every_s=0.2)
    try:
        sessions = [_conversation(data, "alice", f"thing {i}") for i in range(3)]
        for a in sessions:
            a.close()
        assert up.submit(sessions[0].path)
        wait_until(lambda: up._busy == 1)  # the worker holds the first one, at the gate
        assert up.submit(sessions[1].path)  # fills the queue
        assert not up.submit(sessions[2].path)  # full: stays local, retried later
        assert up.failed == [sessions[2].session_id]
        assert "queue full" in caplog.text and sessions[2].session_id in caplog.text
        GatedFS.gate.set()
        stored = tmp_path / "bucket" / "sessions" / owner_hash("alice")
        wait_until(lambda: all((stored / a.session_id / "meta.json").is_file() for a in sessions))
    finally:
        GatedFS.gate.set()
        up.close(5)
