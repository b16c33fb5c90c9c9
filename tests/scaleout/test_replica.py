"""The load-balancer agent: haproxy's agent-check reads "ready <free>%" or "drain"."""

from __future__ import annotations

import socket

import pytest

from googlive.scale.replica import Capacity, LbAgent


def _ask(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        data = b""
        while chunk := s.recv(100):
            data += chunk
    return data.decode("ascii")


def test_agent_reports_free_slots_then_drains_when_full_and_when_stopping():
    used = {"n": 0}
    agent = LbAgent(Capacity(4, lambda: used["n"]), "127.0.0.1", 0)
    try:
        assert _ask(agent.port) == "ready 100%\n"
        used["n"] = 3
        assert _ask(agent.port) == "ready 25%\n"
        used["n"] = 4
        assert _ask(agent.port) == "drain\n"  # full: no new visitors, sticky ones still served
        used["n"] = 1
        assert _ask(agent.port) == "ready 75%\n"  # "ready" undoes the agent's own drain
    finally:
        agent.close()
    assert agent.capacity.agent_reply() == "drain\n"  # stopping
    with pytest.raises(OSError):
        _ask(agent.port)


def test_capacity_counts_a_broken_counter_as_full():
    def broken() -> int:
        raise RuntimeError("component torn down")

    cap = Capacity(2, broken)
    assert cap.full() and cap.agent_reply() == "drain\n"
    assert "2 of 2" in cap.full_message()


def test_replicas_share_the_browser_state_secret_from_the_environment(tmp_path, monkeypatch):
    from googlive.config import Settings
    from googlive.ui import browser_secret

    settings = Settings(data_dir=tmp_path)
    monkeypatch.delenv("GOOGLIVE_BROWSER_SECRET", raising=False)
    local = browser_secret(settings)
    assert local and browser_secret(settings) == local  # kept in the data dir
    monkeypatch.setenv("GOOGLIVE_BROWSER_SECRET", "shared-by-every-replica")
    assert browser_secret(settings) == "shared-by-every-replica"
    assert (
        browser_secret(Settings(data_dir=tmp_path / "other-replica")) == "shared-by-every-replica"
    )


def test_unreachable_store_at_start_is_a_warning_and_sessions_stay_local(
    tmp_path, monkeypatch, caplog
):
    import json
    import logging

    from googlive.features.results.archive import SessionArchive
    from googlive.features.results.archive_attach import _attached
    from googlive.scale.replica import setup_archive_store
    from tests.scaleout.conftest import free_port

    caplog.set_level(logging.INFO, logger="googlive")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA-NOT-LOGGED")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SECRET-NOT-LOGGED")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody listens
    monkeypatch.setenv(
        "GOOGLIVE_ARCHIVE_OPTIONS",
        json.dumps(
            {"retries": 1, "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1}}
        ),
    )
    monkeypatch.delenv("GOOGLIVE_BROWSER_SECRET", raising=False)
    close = setup_archive_store("s3://bucket/prefix", tmp_path)
    assert close is not None
    try:
        assert _attached(tmp_path) is not None
        arch = SessionArchive.create(tmp_path, "alice")
        arch.append_transcript("user", "hello", 0.1, 1)
        arch.close()
        assert (arch.path / "transcript.jsonl").is_file()
    finally:
        close()
    assert _attached(tmp_path) is None
    text = caplog.text
    assert "not reachable at start" in text and "s3://bucket/prefix" in text
    assert "GOOGLIVE_BROWSER_SECRET is not set" in text
    assert "NOT-LOGGED" not in text and "hello" not in text
