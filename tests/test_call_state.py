"""The call's pure parts: the status model, the backend/key rule, the unreached-backend
policy, tool cards, the page's media report, what the page is sent, and the call registry."""

from __future__ import annotations

import asyncio

from googlive.call import keyflow, toolcards
from googlive.call.registry import CallRegistry
from googlive.call.view import panel_values, status_html, transcript_html
from googlive.config import Secret, Settings
from googlive.conversation import Conversation, Media
from googlive.features.results.past import past_row
from googlive.handler import UiUpdate
from googlive.live.backend import Endpoint
from googlive.live.events import Role, SessionState
from googlive.live.retry import Backoff, unreached_message


def test_status_says_reconnecting_only_after_the_call_was_live():
    c = Conversation(attempts=3)
    c.set_state(SessionState.CONNECTING)
    assert c.status.kind == "connecting" and c.status.message == "Connecting to Gemini…"
    # A retry before the call was ever live is still connecting, counted against the budget.
    c.set_state(
        SessionState.RECONNECTING, attempt=1, delay_s=0.6, reason="Network error; retrying."
    )
    assert c.status.kind == "connecting"
    assert "attempt 2 of 3" in c.status.message and "Network error" in c.status.message
    c.set_state(SessionState.LIVE)
    assert c.status.kind == "live" and c.was_live
    c.set_state(SessionState.RECONNECTING, attempt=1, reason="The connection dropped.")
    assert c.status.kind == "reconnecting" and "attempt 1" in c.status.message
    c.set_state(SessionState.LIVE)
    assert c.status.kind == "live"


def test_ended_and_failed_are_final():
    c = Conversation()
    c.set_state(SessionState.LIVE)
    c.set_failed("Can't reach Gemini — check the connection.")
    v = c.versions["status"]
    c.set_state(SessionState.RECONNECTING, attempt=4)  # a late retry
    c.set_state(SessionState.CLOSED, reason="browser disconnected")
    c.set_ended("Conversation ended.")
    assert c.status.kind == "failed" and "Can't reach" in c.status.message
    assert c.versions["status"] == v
    d = Conversation()
    d.set_ended("Time limit of 45 s reached.")
    d.set_state(SessionState.CLOSED)
    assert d.status.kind == "ended" and "45 s" in d.status.message


def endpoints() -> dict[str, Endpoint]:
    return {
        "demo": Endpoint("https://127.0.0.1:9", None, Secret("demo-key"), offline=True),
        "gemini": Endpoint(None, None, Secret("server-key"), offline=False),
    }


def test_backend_choice_and_the_key_it_connects_with():
    e = endpoints()
    typed = Secret("AIza-typed")
    # --offline: always the demo; a typed key is ignored, said so, and goes nowhere.
    c = keyflow.choose(Settings(offline=True), e["demo"], True)
    assert c.offline and c.note == keyflow.IGNORED_KEY_NOTE
    assert keyflow.connect_target(e["demo"], c, typed) == (e["demo"], Secret(None))
    assert keyflow.choose(Settings(offline=True), e["demo"], False).note == ""
    # No server key: the demo, unless a key was typed (then Google's own endpoint).
    c = keyflow.choose(Settings(), e["demo"], False)
    assert c.offline and "no Gemini API key" in c.label
    c = keyflow.choose(Settings(), e["demo"], True)
    assert c.kind == keyflow.YOUR_KEY and not c.offline
    ep, key = keyflow.connect_target(e["demo"], c, typed)
    assert ep.base_url is None and not ep.offline and key == typed
    # A server key: Gemini with it, or with the typed one.
    c = keyflow.choose(Settings(api_key=Secret("server-key")), e["gemini"], False)
    assert c.kind == keyflow.SERVER_KEY
    assert keyflow.connect_target(e["gemini"], c, typed) == (e["gemini"], Secret(None))
    c = keyflow.choose(Settings(api_key=Secret("server-key")), e["gemini"], True)
    assert keyflow.connect_target(e["gemini"], c, typed) == (e["gemini"], typed)
    assert keyflow.is_key_problem("Gemini rejected the API key (API key not valid).")
    assert not keyflow.is_key_problem("The connection to Gemini dropped; reconnecting.")


def test_a_backend_never_reached_gives_up_after_its_budget():
    b = Backoff(unreached_attempts=3)
    assert not b.unreached_exhausted(2, ever_connected=False)
    assert b.unreached_exhausted(3, ever_connected=False)
    assert not b.unreached_exhausted(7, ever_connected=True)  # a live call waits out a drop
    msg = unreached_message("Gemini", "Network error talking to Gemini; retrying.")
    assert msg.startswith("Can't reach Gemini — check the connection (Network error talking")
    assert "retrying" not in msg and "Start conversation" in msg


def test_tool_cards_say_what_was_asked_and_what_came_of_it():
    assert toolcards.asked("take_picture", {"reason": "to read the label"}) == (
        "Take a picture — to read the label"
    )
    assert toolcards.asked("draw_diagram", {"code": "graph TD; A-->B", "title": "Flow"}) == (
        "Draw a diagram — Flow"
    )
    assert "graph TD" not in toolcards.asked("draw_diagram", {"code": "graph TD; A-->B"})
    assert toolcards.asked("record_answer", {"question_id": "q1", "answer": "blue"}).endswith(
        "q1: blue"
    )
    assert toolcards.outcome("take_picture", {"result": "ok", "width": 640, "height": 480}) == (
        "ok",
        "Picture taken (640×480)",
    )
    state, detail = toolcards.outcome(
        "draw_diagram", {"error": "invalid", "line": 2, "message": "Parse error"}
    )
    assert state == "error" and detail == "Parse error (line 2)"
    assert toolcards.outcome("record_answer", {"ok": False, "error": "no such question"})[0] == (
        "error"
    )
    assert toolcards.panel("draw_diagram") == "diagram" and toolcards.panel("other") == ""


def test_transcript_shows_cards_in_time_order_as_text():
    c = Conversation()
    c.transcript(Role.USER, 0, "please <b>draw</b>", 1.0, final=True)
    c.transcript(Role.MODEL, 0, "one moment", 2.0)
    c.tool_started("id1", "draw_diagram", toolcards.asked("draw_diagram", {"title": "<img>"}), 1.5)
    c.tool_finished("id1", "ok", "Diagram shown (version 1)", 1.9)
    c.note("Camera off; Gemini was told it can't see you.", 3.0)
    html = transcript_html(c)
    assert html.index("please") < html.index('data-tool="draw_diagram"') < html.index("one moment")
    assert html.index("one moment") < html.index("Camera off")
    assert "<b>" not in html and "<img>" not in html and "&lt;img&gt;" in html
    assert 'href="#diagram"' in html


def test_media_report_is_validated():
    m = Media.from_page(
        {"mic": "off", "camera": "missing", "screen": True, "camera_why": "denied", "mic_why": "x"}
    )
    assert (m.mic, m.camera, m.screen, m.camera_why, m.mic_why) == (
        "off",
        "missing",
        True,
        "denied",
        "",
    )
    assert not m.mic_sends and m.video_sends  # the shared screen is sent
    junk = Media.from_page({"mic": "<script>", "camera": 3, "screen": "yes"})
    assert junk == Media()  # nothing malformed ever mutes a call


def test_status_badges_and_escaping():
    c = Conversation()
    c.set_state(SessionState.LIVE)
    c.set_media(Media(mic="off", camera="off"))
    html = status_html(c)
    assert 'data-mic="off"' in html and "Mic muted" in html and "Camera off" in html
    c.set_media(Media(mic="missing", screen=True))
    html = status_html(c)
    assert "No microphone" in html and "Sharing your screen" in html
    c.set_failed("bad <b>thing</b>")
    assert "<b>" not in status_html(c) and "badge" not in status_html(c)


def test_a_new_conversation_first_update_resets_every_panel():
    initial = {
        "status": "idle",
        "transcript": "empty",
        "diagram": "*No diagram yet.*",
        "snapshots": "none",
    }
    c = Conversation()
    c.set_state(SessionState.CONNECTING)
    first = panel_values(UiUpdate(1, c), c.sent, initial)
    assert set(first) == set(initial)  # the previous call's diagram and snapshots go
    assert first["diagram"] == "*No diagram yet.*" and "Connecting" in first["status"]
    c.set_panel("diagram", "new one")
    assert panel_values(UiUpdate(2, c), c.sent, initial) == {"diagram": "new one"}
    assert panel_values(UiUpdate(3, c), c.sent, initial) == {}


class FakeHandler:
    def __init__(self, owner: str) -> None:
        from googlive.handler import SessionArgs

        self.args = SessionArgs(owner=owner)
        self.conv = Conversation()
        self.live_endpoint = None
        self.live_key = Secret(None)

    def archive_path(self):
        return None


def test_call_registry_is_per_owner_claimed_once_and_bounded():
    async def run() -> None:
        reg = CallRegistry(limit=2)
        h = FakeHandler("alice")
        rec = reg.started("w1", h)
        assert reg.get("w1", "alice") is rec and reg.get("w1", "bob") is None
        assert reg.claim("w1", "bob") == (None, False)
        assert reg.claim("w1", "alice") == (rec, True)
        assert reg.claim("w1", "alice") == (rec, False)  # Stop after End (or the reverse)
        assert rec.running and not rec.closed.is_set()
        reg.ended("w1", h)
        assert not rec.running and await rec.wait_closed(0.1)
        reg.started("w2", FakeHandler("alice"))
        reg.started("w3", FakeHandler("alice"))
        assert len(reg) == 2 and reg.get("w1", "alice") is None
        quick = CallRegistry(keep_s=0.0)
        h2 = FakeHandler("bob")
        quick.started("x1", h2)
        quick.ended("x1", h2)
        quick.started("x2", FakeHandler("bob"))  # an ended call is forgotten after keep_s
        assert quick.get("x1", "bob") is None and quick.get("x2", "bob") is not None

    asyncio.run(run())


def test_past_sessions_never_call_a_failed_analysis_analysed():
    from googlive.features.results.archive_records import SessionSummary

    def summary(ok: bool) -> SessionSummary:
        return SessionSummary("s", "2026-01-01T00:00:00Z", 10.0, 1, False, True, "t", True, ok)

    assert "analysed" in past_row(summary(True), "UTC").label
    assert "analysis failed" in past_row(summary(False), "UTC").label
    assert "analysed" not in past_row(summary(False), "UTC").label
