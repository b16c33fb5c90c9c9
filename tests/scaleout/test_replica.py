"""The load-balancer agent: haproxy's agent-check reads "ready <free>%" or "drain"."""

from __future__ import annotations

import socket

import pytest

from googlive.replica import Capacity, LbAgent


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
