"""Finding 4 (disk) and the small limits of 6.

- quota and retention: the oldest sessions go first, running ones never; a warning from 90 %;
  at 100 % a new conversation is not recorded and says so in the page (the talk itself works);
- a zip download is built where Gradio serves it without a copy, and each visitor has at most
  one on disk;
- typed text over 4,000 characters is refused by name; time limits under a minute say seconds.
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import pytest

from googlive.assemble import assemble
from googlive.config import Secret, Settings
from googlive.fakelive import FakeLiveServer
from googlive.features.recording.feature import QUOTA_HTML
from googlive.features.results.archive import SessionArchive
from googlive.handler import GeminiHandler
from googlive.live.backend import Endpoint
from googlive.public.launchopts import SecurityOptions
from googlive.public.limits import format_duration, time_limit_message, typed_text_problem
from googlive.public.quota import EVICT_TO, QuotaKeeper, SessionUsage, level, plan
from googlive.testing.peersim import SimulatedPeer
from googlive.ui import AppContext, build
from tests.util import is_live, offline_endpoint, until

DAY = 86400.0


def usage(
    name: str, age_days: float, mb: float, running: bool = False, now: float = 1e9
) -> SessionUsage:
    return SessionUsage(Path(name), now - age_days * DAY, int(mb * 1e6), running)


def test_plan_deletes_expired_then_oldest_first_and_never_a_running_session():
    now = 1e9
    s = [
        usage("old", 40, 10),
        usage("mid", 10, 30),
        usage("new", 1, 30),
        usage("live", 50, 30, running=True),
    ]
    assert [
        u.path.name for u in plan(s, total_bytes=100_000_000, max_bytes=0, keep_s=30 * DAY, now=now)
    ] == ["old"]
    # Over a 80 MB quota: oldest first (not the running one) until at most 80 % of it.
    doomed = plan(s, total_bytes=100_000_000, max_bytes=80_000_000, keep_s=0, now=now)
    assert [u.path.name for u in doomed] == ["old", "mid"]
    assert 100_000_000 - sum(u.bytes for u in doomed) <= 80_000_000 * EVICT_TO
    # Nothing left to evict but running sessions: nothing is deleted, the level says so.
    only_live = [usage("live", 50, 95, running=True)]
    assert plan(only_live, total_bytes=95_000_000, max_bytes=80_000_000, keep_s=DAY, now=now) == []
    assert [level(u, 100) for u in (0, 89, 90, 99, 100, 150)] == [
        "ok",
        "ok",
        "warn",
        "warn",
        "full",
        "full",
    ]
    assert level(10**12, 0) == "ok"


def make_session(data: Path, owner: str, age_days: float, size: int) -> Path:
    arch = SessionArchive.create(data, owner)
    (arch.path / "recording.webm").write_bytes(b"\0" * size)
    arch.close()
    meta = json.loads((arch.path / "meta.json").read_text())
    meta["started_unix"] = time.time() - age_days * DAY
    (arch.path / "meta.json").write_text(json.dumps(meta))
    return arch.path


def test_keeper_sweeps_real_archives(tmp_path):
    data = tmp_path / "data"
    old = make_session(data, "owner-a-0123456789", 20, 50_000)
    mid = make_session(data, "owner-b-0123456789", 5, 50_000)
    new = make_session(data, "owner-a-0123456789", 1, 50_000)
    keeper = QuotaKeeper(data, max_bytes=90_000, keep_s=10 * DAY)
    assert (
        keeper.sweep() == 2
    )  # old by retention; then mid (the oldest left) to get under 80 % of 90 kB
    assert not old.exists() and not mid.exists() and new.exists()
    assert keeper.level() == "ok" and keeper.recording_allowed()
    running = make_session(data, "owner-c-0123456789", 30, 200_000)
    keeper = QuotaKeeper(data, max_bytes=90_000, keep_s=10 * DAY, running=lambda: [running])
    keeper.sweep()
    assert running.exists() and not new.exists()  # the running one is kept, the rest goes
    assert keeper.level() == "full" and not keeper.recording_allowed()
    assert "storage is full" in keeper.warning()


@pytest.fixture
async def server():
    async with FakeLiveServer(api_key="k") as srv:
        yield srv


async def test_full_storage_refuses_recording_with_a_message_and_warns_in_the_page(
    server, tmp_path
):
    data = tmp_path / "data"
    data.mkdir()
    (data / "other-files.bin").write_bytes(b"\0" * 2_000_000)  # nothing retention may delete
    ctx = AppContext(
        Settings(data_dir=data, no_ice_servers=True),
        offline_endpoint(server),
        security=SecurityOptions(max_data_gb=1.5e-3),
    )  # ~1.6 MB
    assemble(ctx)
    build(ctx)
    quota = ctx.services["quota"]
    try:
        assert quota.level() == "full"
        results = next(p for p in ctx.plugins if type(p).__name__ == "ResultsPlugin")
        assert (
            "storage is full" in results.storage_html()
            and 'data-level="full"' in results.storage_html()
        )
        h = GeminiHandler(ctx.settings, ctx.endpoint, features=ctx.features, services=ctx.services)
        peer = SimulatedPeer(h, ["owner-0123456789abcdef", "", "", "", "", ""])
        await peer.start()
        try:
            await until(lambda: is_live(h))
            assert h.conv.panels.get("recording") == QUOTA_HTML
            h.send_text("still works")
            await until(
                lambda: any(ln.role.value == "model" and ln.final for ln in h.conv.lines),
                timeout=15,
            )
        finally:
            await peer.close()
        archived = list((data / "sessions").rglob("meta.json"))
        assert len(archived) == 1  # the conversation itself is archived
        assert not list((data / "sessions").rglob("recording.*"))
        # Freed space: the banner clears and recording is allowed again.
        (data / "other-files.bin").unlink()
        quota.sweep()
        assert results.storage_html() == "" and quota.recording_allowed()
    finally:
        for stop in ctx.services.get("on_exit", []):
            stop()


def test_zip_downloads_leave_one_file_per_visitor_served_without_a_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-cache"))
    data = tmp_path / "data"
    ctx = AppContext(
        Settings(data_dir=data, no_ice_servers=True),
        Endpoint("https://127.0.0.1:9", None, Secret(None), True),
    )
    assemble(ctx)
    demo = build(ctx)
    results = next(p for p in ctx.plugins if type(p).__name__ == "ResultsPlugin")
    owner, other = "owner-a-0123456789abcdef", "owner-b-0123456789abcdef"
    s1 = make_session(data, owner, 0, 300_000).name
    s2 = make_session(data, owner, 0, 300_000).name
    s3 = make_session(data, other, 0, 300_000).name
    try:
        z1 = results.download_zip(s1, owner)
        z2 = results.download_zip(s2, owner)
        z3 = results.download_zip(s3, other)
        cache = tmp_path / "gradio-cache"
        zips = sorted(cache.rglob("*.zip"))
        assert zips == sorted([z2, z3]) and not z1.exists()  # the visitor's earlier zip is gone
        assert zipfile.ZipFile(z2).namelist()
        # What Gradio does with a returned file: it is in the cache already, so no copy is made.
        assert demo.move_resource_to_block_cache(str(z2)) == str(z2.resolve())
        assert sorted(cache.rglob("*.zip")) == zips
        # Old zips of any visitor go after ZIP_KEEP_S.
        results.sweep_zips(cache / "googlive-zips", now=time.time() + 3600)
        assert not list(cache.rglob("*.zip"))
    finally:
        for stop in ctx.services.get("on_exit", []):
            stop()


def test_typed_text_and_time_limit_messages():
    assert typed_text_problem("x" * 4000) is None
    msg = typed_text_problem("x" * 300_000)
    assert msg is not None and "4,000" in msg and "300,000" in msg and "still in the box" in msg
    assert [format_duration(s) for s in (10, 45, 60, 90, 1800, 3600, 5400)] == [
        "10 s",
        "45 s",
        "1 min",
        "1 min 30 s",
        "30 min",
        "1 h",
        "1 h 30 min",
    ]
    assert time_limit_message(45).startswith("Time limit of 45 s reached:")
    assert "0 min" not in time_limit_message(30)
