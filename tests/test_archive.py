"""Tests for the session archive: incremental writes, kill-safety, owner isolation, export."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from googlive.features.results.archive import SessionArchive
from googlive.features.results.archive_layout import (
    EVENTS_FILE,
    META_FILE,
    SESSION_ID_RE,
    TRANSCRIPT_FILE,
    SessionNotFound,
    UnsafeEventField,
    owner_hash,
)
from googlive.features.results.archive_owner import list_sessions, open_session, resolve_session
from googlive.features.results.archive_read import load_session
from googlive.features.results.archive_zip import export_zip, safe_member_name

REPO = Path(__file__).resolve().parent.parent
CHILD = Path(__file__).resolve().parent / "archive_child.py"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


def _session(tmp_path: Path, owner: str = "alice", **kw: object) -> SessionArchive:
    return SessionArchive.create(tmp_path, owner, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- layout and round trip


def test_create_makes_hashed_owner_folder_and_sortable_id(tmp_path: Path) -> None:
    """The folder is sessions/<sha256 prefix of owner>/<time-sortable id>; the owner id is not on disk."""
    a = _session(tmp_path, owner="../../etc/passwd")
    assert a.path.parent.name == owner_hash("../../etc/passwd")
    assert a.path.parent.parent == tmp_path / "sessions"
    assert SESSION_ID_RE.fullmatch(a.session_id)
    assert "passwd" not in str(a.path)
    meta = json.loads((a.path / META_FILE).read_text())
    assert meta["session_id"] == a.session_id and "owner" not in meta
    earlier = SessionArchive.create(tmp_path, "bob", now=datetime(2020, 1, 1, tzinfo=UTC))
    assert earlier.session_id < a.session_id
    a.close()
    earlier.close()


def test_round_trip_reads_back_everything(tmp_path: Path) -> None:
    """Transcript, events, snapshots, diagrams, survey, analysis and meta come back as written."""
    a = _session(tmp_path)
    a.append_transcript("user", "Hello there", 1.25, 0)
    a.append_transcript("model", "Hi! How can I help?", 2.5, 0, latency_ms=420.0)
    a.append_event("state", state="live", attempt=0)
    a.save_snapshot("snap-1", JPEG, {"t_s": 3.0, "description": "a whiteboard"})
    a.save_diagram("d1", "graph TD; A-->B", "Flow", 4.0)
    a.save_survey({"title": "Coffee habits", "sections": []})
    a.save_analysis({"ok": True, "analysis": {"summary": "s"}})
    a.write_meta({"model": "gemini-x", "session_id": "forged"})
    a.recording_path.write_bytes(b"webm")
    a.close()

    s = load_session(a.path)
    assert [(x.role, x.text, x.t_s, x.turn) for x in s.transcript] == [
        ("user", "Hello there", 1.25, 0),
        ("model", "Hi! How can I help?", 2.5, 0),
    ]
    assert s.transcript[1].latency_ms == 420.0
    kinds = [e["kind"] for e in s.events]
    assert kinds == ["state", "snapshot", "diagram"]
    assert s.events[1] == {**s.events[1], "id": "snap-1", "size": len(JPEG), "t_s": 3.0}
    assert s.snapshots[0].id == "snap-1" and s.snapshots[0].path.read_bytes() == JPEG
    assert s.snapshots[0].meta["description"] == "a whiteboard"
    assert (s.diagrams[0].source, s.diagrams[0].title, s.diagrams[0].t) == (
        "graph TD; A-->B",
        "Flow",
        4.0,
    )
    assert s.survey == {"title": "Coffee habits", "sections": []}
    assert s.analysis == {"ok": True, "analysis": {"summary": "s"}}
    assert s.meta["model"] == "gemini-x" and s.meta["session_id"] == a.session_id
    assert "ended" in s.meta and s.closed
    assert s.recording == a.recording_path
    assert s.turns == 1 and s.skipped_lines == 0
    assert s.title == "Coffee habits"
    assert not list(a.path.rglob("*.tmp")), "atomic writes leave no temp files"


def test_lines_are_on_disk_before_close(tmp_path: Path) -> None:
    """Each append is readable by another reader immediately, without close()."""
    a = _session(tmp_path)
    a.append_transcript("user", "first", 0.0, 0)
    assert [x.text for x in load_session(a.path).transcript] == ["first"]
    a.append_event("barge_in", turn=0)
    assert load_session(a.path).events[0]["kind"] == "barge_in"
    a.close()


# --------------------------------------------------------------------------- no secrets, no bytes


@pytest.mark.parametrize(
    "fields",
    [
        {"api_key": "AIza..."},
        {"key": "k"},
        {"token": "t"},
        {"access_token": "t"},
        {"apiKey": "k"},
        {"accessToken": "t"},
        {"x-goog-api-key": "k"},
        {"secretKey": "k"},
        {"client_secret": "s"},
        {"password": "p"},
        {"nested": {"auth": {"session_token": "t"}}},
        {"items": [{"key": "k"}]},
    ],
)
def test_events_refuse_fields_named_like_secrets(tmp_path: Path, fields: dict) -> None:
    """A field named like a key or token is refused, however deeply nested."""
    a = _session(tmp_path)
    with pytest.raises(UnsafeEventField):
        a.append_event("tool_call", **fields)
    a.close()
    assert load_session(a.path).events == []


@pytest.mark.parametrize(
    "value",
    [JPEG, bytearray(JPEG), "/9j/4AAQSkZJRgABAQ", "data:image/png;base64,xx", ["ok", b"bytes"]],
)
def test_events_refuse_image_bytes(tmp_path: Path, value: object) -> None:
    """Bytes and base64 image text never go into events.jsonl: images go to files only."""
    a = _session(tmp_path)
    with pytest.raises(UnsafeEventField):
        a.append_event("snapshot", image=value)
    a.close()


def test_token_counts_are_not_mistaken_for_secrets(tmp_path: Path) -> None:
    """prompt_tokens, key_points, token_count are allowed: key/token are refused only as the last word."""
    a = _session(tmp_path)
    a.append_event(
        "usage",
        prompt_tokens=10,
        response_tokens=5,
        total_tokens=15,
        keyboard="x",
        key_points=["a"],
        token_count=3,
    )
    a.close()
    assert load_session(a.path).events[0]["total_tokens"] == 15


def test_snapshot_bytes_go_to_a_file_not_the_event_log(tmp_path: Path) -> None:
    """save_snapshot writes the JPEG to snapshots/ and logs only its id and size."""
    a = _session(tmp_path)
    a.save_snapshot("s1", JPEG, {"t_s": 1.0})
    a.close()
    raw = (a.path / EVENTS_FILE).read_bytes()
    assert b"\xff\xd8" not in raw and b"/9j/" not in raw
    assert (a.path / "snapshots" / "s1.jpg").read_bytes() == JPEG


@pytest.mark.parametrize("bad", ["../x", "a/b", "", ".hidden", "x" * 65, "s 1"])
def test_item_ids_are_validated(tmp_path: Path, bad: str) -> None:
    """Snapshot and diagram ids that could escape their folder are refused."""
    a = _session(tmp_path)
    with pytest.raises(ValueError):
        a.save_snapshot(bad, JPEG, {})
    with pytest.raises(ValueError):
        a.save_diagram(bad, "graph TD;", "t", 0.0)
    a.close()


# --------------------------------------------------------------------------- kill -9


def _spawn(tmp_path: Path, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp_path), "owner-1", mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


def _path_line(proc: subprocess.Popen[str]) -> Path:
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    assert first.startswith("PATH "), first
    return Path(first[5:])


@pytest.mark.timeout(30)
def test_sigkill_mid_session_keeps_every_acknowledged_line(tmp_path: Path) -> None:
    """A writer SIGKILLed mid-session loses none of the lines whose append had returned."""
    proc = _spawn(tmp_path, "loop")
    try:
        path = _path_line(proc)
        assert proc.stdout is not None
        acked = -1
        while acked < 200:
            line = proc.stdout.readline()
            assert line.startswith("ACK "), line
            acked = int(line.split()[1])
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    s = load_session(path)
    texts = [x.text for x in s.transcript]
    assert texts[: acked + 1] == [f"line {i}" for i in range(acked + 1)]
    assert [e["seq"] for e in s.events][:21] == list(range(0, 201, 10))
    assert not s.closed and s.skipped_lines <= 1  # at most one torn line at the very end
    assert s.duration_s >= 0


@pytest.mark.timeout(30)
def test_torn_last_line_is_tolerated_and_reopen_seals_it(tmp_path: Path) -> None:
    """After a kill that tore the last line, reading skips it and a reopened archive appends cleanly."""
    proc = _spawn(tmp_path, "torn")
    try:
        path = _path_line(proc)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    s = load_session(path)
    assert [x.text for x in s.transcript] == [f"line {i}" for i in range(20)]
    assert s.skipped_lines == 1
    assert len([e for e in s.events if e["kind"] == "tool_call"]) == 5
    assert s.snapshots[0].meta["description"] == "a desk"

    again = SessionArchive.open(path)
    again.append_transcript("user", "after restart", 30.0, 10)
    again.close()
    s2 = load_session(path)
    assert s2.transcript[-1].text == "after restart"
    assert len(s2.transcript) == 21 and s2.skipped_lines == 1
    assert s2.closed


def test_open_refuses_a_folder_that_is_not_a_session(tmp_path: Path) -> None:
    """SessionArchive.open and load_session refuse paths not shaped like a session folder."""
    (tmp_path / "x").mkdir()
    with pytest.raises(SessionNotFound):
        SessionArchive.open(tmp_path / "x")
    with pytest.raises(SessionNotFound):
        load_session(tmp_path)


# --------------------------------------------------------------------------- listing and isolation


def _filled(tmp_path: Path, owner: str, first_line: str, when: datetime) -> SessionArchive:
    a = SessionArchive.create(tmp_path, owner, now=when)
    a.append_transcript("model", "Hello, what shall we talk about?", 0.5, 0)
    a.append_transcript("user", first_line, 2.0, 1)
    a.append_transcript("model", "Sure.", 3.0, 1)
    return a


def test_list_sessions_shows_only_own_sessions_newest_first(tmp_path: Path) -> None:
    """A visitor lists its own sessions, newest first, with the summary fields filled in."""
    old = _filled(
        tmp_path, "alice", "Let's plan the garden " + "very " * 30, datetime(2026, 1, 1, tzinfo=UTC)
    )
    new = _filled(tmp_path, "alice", "Budget review", datetime(2026, 2, 1, tzinfo=UTC))
    new.recording_path.write_bytes(b"x")
    new.save_analysis({"ok": True})
    other = _filled(tmp_path, "bob", "Bob's secret plans", datetime(2026, 3, 1, tzinfo=UTC))
    for a in (old, new, other):
        a.close()
    mine = list_sessions(tmp_path, "alice")
    assert [s.id for s in mine] == [new.session_id, old.session_id]
    top = mine[0]
    assert (top.turns, top.has_recording, top.has_analysis, top.title) == (
        2,
        True,
        True,
        "Budget review",
    )
    assert top.started.startswith("2026-02-01T00:00:00")
    assert mine[1].title.startswith("Let's plan the garden") and len(mine[1].title) <= 60
    assert not mine[1].has_recording and not mine[1].has_analysis
    assert list_sessions(tmp_path, "carol") == []
    shared = list_sessions(tmp_path, "alice", shared=True)
    assert [s.id for s in shared] == [other.session_id, new.session_id, old.session_id]
    assert [s.mine for s in shared] == [False, True, True]


def test_other_owner_cannot_open_by_id_or_crafted_path(tmp_path: Path) -> None:
    """Bob's session id, or a crafted '../<hash>/<id>', does not open for Alice."""
    bob = _filled(tmp_path, "bob", "private", datetime(2026, 3, 1, tzinfo=UTC))
    bob.close()
    sid = bob.session_id
    crafted = [
        sid,
        f"../{owner_hash('bob')}/{sid}",
        f"{owner_hash('bob')}/{sid}",
        str(bob.path),
        "..",
        f"{sid}/../../{owner_hash('bob')}/{sid}",
        sid + "\x00",
    ]
    for bad in crafted:
        with pytest.raises(SessionNotFound):
            resolve_session(tmp_path, "alice", bad)
        with pytest.raises(SessionNotFound):
            open_session(tmp_path, "alice", bad)
    assert open_session(tmp_path, "bob", sid).transcript[1].text == "private"
    assert resolve_session(tmp_path, "alice", sid, shared=True) == bob.path


def test_symlinked_session_folder_is_not_followed(tmp_path: Path) -> None:
    """A symlink planted in an owner's folder pointing at another owner's session is refused."""
    bob = _filled(tmp_path, "bob", "private", datetime(2026, 3, 1, tzinfo=UTC))
    bob.close()
    alice_dir = tmp_path / "sessions" / owner_hash("alice")
    alice_dir.mkdir(parents=True)
    (alice_dir / bob.session_id).symlink_to(bob.path)
    with pytest.raises(SessionNotFound):
        resolve_session(tmp_path, "alice", bob.session_id)
    assert list_sessions(tmp_path, "alice") == []


# --------------------------------------------------------------------------- export


def test_export_zip_holds_the_whole_session_with_readable_transcript(tmp_path: Path) -> None:
    """The zip has the JSONL logs, a human-readable transcript.txt, snapshots, diagrams, recording."""
    a = _filled(tmp_path, "alice", "Let's review the budget", datetime(2026, 2, 1, tzinfo=UTC))
    a.save_snapshot("s1", JPEG, {"t_s": 2.5, "description": "spreadsheet"})
    a.save_diagram("d1", "graph TD; A-->B", "Budget flow", 2.8)
    a.save_analysis({"ok": True})
    a.recording_path.write_bytes(b"\x1aE\xdf\xa3 webm")
    (a.path / "snapshots" / "evil.jpg").symlink_to("/etc/hostname")
    a.close()
    out = export_zip(a.path, dest_dir=tmp_path)
    try:
        with zipfile.ZipFile(out) as zf:
            names = set(zf.namelist())
            sid = a.session_id
            assert names == {
                f"{sid}/{n}"
                for n in (
                    "transcript.txt",
                    "transcript.jsonl",
                    "events.jsonl",
                    "meta.json",
                    "analysis.json",
                    "snapshots/s1.jpg",
                    "snapshots/s1.json",
                    "diagrams/d1.mmd",
                    "diagrams/d1.json",
                    "recording.webm",
                )
            }
            for n in names:
                assert not n.startswith("/") and ".." not in n.split("/")
            txt = zf.read(f"{sid}/transcript.txt").decode("utf-8")
            assert zf.read(f"{sid}/snapshots/s1.jpg") == JPEG
            assert zf.testzip() is None
    finally:
        out.unlink()
    lines = txt.splitlines()
    assert lines[0] == f"Session {a.session_id}"
    body = [x for x in lines if x.startswith("[")]
    assert body == [
        "[00:00] Gemini: Hello, what shall we talk about?",
        "[00:02] User: Let's review the budget",
        "[00:02] (snapshot s1 spreadsheet)",
        "[00:02] (diagram d1 Budget flow)",
        "[00:03] Gemini: Sure.",
    ]


def test_export_of_an_unclosed_killed_session_works(tmp_path: Path) -> None:
    """A session never closed (page closed early) still exports."""
    a = _filled(tmp_path, "alice", "hi", datetime(2026, 2, 1, tzinfo=UTC))
    with open(a.path / TRANSCRIPT_FILE, "a") as fh:
        fh.write('{"role":"us')
    out = export_zip(a.path, dest_dir=tmp_path)
    with zipfile.ZipFile(out) as zf:
        assert "User: hi" in zf.read(f"{a.session_id}/transcript.txt").decode()
    a.close()


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("snapshots/a b.jpg", "snapshots/a_b.jpg"),
        ("../../etc/passwd", "etc/passwd"),
        ("/abs/x", "abs/x"),
        ("a\\..\\b", "a/b"),
        ("ok-1_2.json", "ok-1_2.json"),
    ],
)
def test_zip_member_names_are_sanitised(raw: str, safe: str) -> None:
    """Member names keep safe characters only and never climb out of the archive."""
    assert safe_member_name(raw) == safe
    assert re.fullmatch(r"[A-Za-z0-9._/-]+", safe_member_name(raw))
