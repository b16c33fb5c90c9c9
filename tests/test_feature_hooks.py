"""A feature whose hook raises is switched off for the call and named on the page; the other
features and the conversation go on (googlive.features.api.Hooks)."""

from __future__ import annotations

from googlive.config import Settings
from googlive.features.api import Feature, Hooks
from googlive.handler import GeminiHandler
from googlive.live.events import Role, TurnComplete
from googlive.testing.peersim import SimulatedPeer
from tests.util import is_live, offline_endpoint, until


class Broken(Feature):
    """Raises on the first Live event it sees (as a bug in a feature would)."""

    name = "broken"

    def __init__(self, call, links):
        super().__init__(call)
        self.calls = 0

    def on_event(self, ev):
        self.calls += 1
        raise RuntimeError("a user's words that must not reach the log")


class Counter(Feature):
    name = "counter"

    def __init__(self, call, links):
        super().__init__(call)
        self.turns = 0

    def on_event(self, ev):
        if isinstance(ev, TurnComplete):
            self.turns += 1


def test_a_raising_hook_is_reported_once_and_skipped_after():
    class F(Feature):
        def __init__(self, name, fail):
            self.name, self.fail, self.seen = name, fail, []

        def on_text(self, text, t):
            self.seen.append(text)
            if self.fail:
                raise ValueError(text)

    bad, good = F("bad", True), F("good", False)
    reports = []
    hooks = Hooks([bad, good], lambda f, hook, exc: reports.append((f.name, hook, type(exc))))
    hooks.text("one", 0.0)
    hooks.text("two", 1.0)
    assert bad.seen == ["one"] and good.seen == ["one", "two"]
    assert reports == [("bad", "on_text", ValueError)] and hooks.failed == {"bad": "on_text"}


async def test_a_broken_feature_does_not_stop_the_conversation(server, caplog):
    h = GeminiHandler(Settings(), offline_endpoint(server), features=(Broken, Counter))
    peer = SimulatedPeer(h, ["owner", "", "", "", "", ""], mic_always_on=False)
    await peer.start()
    try:
        await until(lambda: is_live(h))
        broken, counter = h.feature_of(Broken), h.feature_of(Counter)
        await until(lambda: broken.calls >= 1)
        h.send_text("hello there")
        await until(lambda: any(ln.role is Role.MODEL and ln.final for ln in h.conv.lines))
        await until(lambda: counter.turns >= 1)  # the other feature still gets its hooks
        assert broken.calls == 1  # switched off after its first failure
        notes = [c for c in h.conv.cards if c.kind == "note" and "broken" in c.title]
        assert len(notes) == 1 and "goes on" in notes[0].title
    finally:
        await peer.close()
    assert "feature broken failed in on_event (RuntimeError)" in caplog.text
    assert "must not reach the log" not in caplog.text
