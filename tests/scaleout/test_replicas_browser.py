"""Two replicas behind haproxy, archives in moto's S3, calls relayed by coturn; real Chromium.

Everything runs in a private network namespace (tests/e2e/netns.py) started by
deploy/trial.py exactly as `python deploy/local_trial.py` starts it for a person: two
`app.py --offline --max-sessions 1` replicas (one conversation fills one), haproxy with cookie
stickiness and the replicas' agent-check, moto's S3 server as the archive store, coturn with a
shared secret. Both replicas run relay-only ICE (--ice-transport-policy relay, browser and
server side), so every call below goes through the TURN relay.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from deploy.trial import Trial, TrialConfig
from tests.e2e.conftest import make_speech
from tests.e2e.helpers import STATS_JS, start_conversation, wait_text
from tests.scaleout.conftest import MEDIA_IP, wait_until

pytestmark = pytest.mark.browser

HEADER = "x-googlive-replica"
PAIR_JS = """
async () => {
  const out = [];
  for (const pc of (window.__pcs || [])) {
    const stats = await pc.getStats();
    const byId = new Map(); stats.forEach(r => byId.set(r.id, r));
    stats.forEach(r => {
      if (r.type === 'candidate-pair' && r.nominated && r.state === 'succeeded') {
        out.push([byId.get(r.localCandidateId)?.candidateType, byId.get(r.remoteCandidateId)?.candidateType]);
      }
    });
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def trial(netns, tmp_path_factory, request):
    work = tmp_path_factory.mktemp("trial")
    # Only the features these tests look at (archive + Results, the replica page part): the
    # recorder's encoder and the diagram validator's Node worker would only slow each call.
    t = Trial(
        work,
        TrialConfig(
            replicas=2,
            max_sessions=1,
            turn=True,
            relay_only=True,
            media_ip=MEDIA_IP,
            env={"GOOGLIVE_FEATURES": "results,replica"},
        ),
        wrap=netns.wrap,
    )
    failed = request.session.testsfailed
    with t:
        yield t
        if request.session.testsfailed > failed:  # what each process said, for the report
            print(t.diagnostics())


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    d = tmp_path_factory.mktemp("wav")
    return {
        "speech": make_speech(
            d / "speech.wav", "Hello Gemini can you hear me", pad_before=1.0, pad_after=6.0
        ),
        "quiet": make_speech(d / "quiet.wav", "", pad_before=0.5, pad_after=0.5),
    }


class Visitor:
    """One browser (its own cookies and localStorage) and the replica of every response."""

    def __init__(self, launch: Any, wav: Path) -> None:
        self.ctx = launch(wav)
        self.seen: dict[int, list[tuple[str, str | None]]] = defaultdict(list)  # page -> responses

    def open(self, url: str, *, expect_ok: bool = True) -> tuple[Any, Any]:
        page = self.ctx.new_page()
        # No HTTP cache: a cached asset would report the replica of an earlier page.
        cdp = self.ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        key = id(page)
        page.on("response", lambda r: self.seen[key].append((r.url, r.headers.get(HEADER))))
        resp = page.goto(url)
        if expect_ok:
            assert resp is not None and resp.status == 200, resp and resp.status
        return page, resp

    def replicas(self, page: Any) -> set[str | None]:
        # Browsers fetch the web-app manifest without cookies (HTML: a manifest link's
        # credentials mode is "omit"), so no balancer can stick it; gradio answers it with a
        # static 404 here. Every other request of the page carries the stickiness cookie.
        return {h for u, h in self.seen[id(page)] if not u.endswith("/manifest.json")}

    def urls(self, page: Any) -> list[str]:
        return [u for u, _ in self.seen[id(page)]]

    def force_replica(self, url: str, name: str) -> None:
        """As if haproxy had placed this browser on `name` (its stickiness cookie)."""
        self.ctx.add_cookies([{"name": "GOOGLIVE_REPLICA", "value": name, "url": url}])


def _talk(page: Any, words: str) -> None:
    page.get_by_role("tab", name="Conversation").click()
    start_conversation(page)
    # the first call of a freshly started replica can take a minute on a 2-core machine
    # running four apps, haproxy, coturn and moto (as tests/e2e/test_call_lifecycle.py LIVE_S)
    wait_text(page, "#status", "Live", timeout_s=90)
    page.locator("#text-input textarea").fill(words)
    page.locator("#send-text").click()
    wait_text(page, "#transcript", "you said", timeout_s=30)


def _end(page: Any, words: str) -> None:
    page.locator("#end-session").click()
    wait_text(page, "#results-transcript", words, timeout_s=30)


def _past(page: Any) -> list[str]:
    """The Past sessions tab's list (one radio per session), as the visitor sees it. Opening the
    tab lists them; Refresh as well would list them twice, and the second listing, answered
    after the session is picked, would clear the pick (seen: Open then showed nothing)."""
    page.get_by_role("tab", name="Past sessions").click()
    page.wait_for_selector("#past-sessions input[type=radio], #past-empty:visible", timeout=15000)
    return [t.strip() for t in page.locator("#past-sessions label").all_inner_texts() if t.strip()]


def _open_past(page: Any, needle: str) -> str:
    """Pick the (only) session as a user would with the keyboard, then Open results."""
    item = page.locator("#past-sessions label", has_text=needle).first.locator("input")
    item.focus()
    page.keyboard.press("Space")
    page.locator("#past-open").click()
    return wait_text(page, "#results-transcript", needle, timeout_s=20)


def _stored(trial: Trial) -> dict[tuple[str, str], set[str]]:
    """{(owner hash, session id): files} in the bucket (archive/sessions/<owner>/<id>/...)."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key in trial.bucket_keys():
        parts = key.split("/")
        if len(parts) >= 5 and parts[:2] == ["archive", "sessions"]:
            out[(parts[2], parts[3])].add("/".join(parts[4:]))
    return out


def test_relay_only_call_through_coturn(trial, playwright_browser, wavs):
    """With iceTransportPolicy relay on both sides the call still works: the browser's speech
    reaches the handler (the local Live server heard it) and the reply's audio comes back."""
    trial.wait_states(lambda st: set(st.values()) == {"UP"})
    v = Visitor(playwright_browser, wavs["speech"])
    page, _ = v.open(trial.url)
    start_conversation(page)
    wait_text(page, "#status", "Live", timeout_s=40)
    text = wait_text(page, "#transcript", "Offline demo", timeout_s=40)
    assert "heard" in text.lower()  # the server side got the audio
    page.wait_for_function(
        f"async () => {{ const s = await ({STATS_JS.strip()})(); return s.audio_packets > 20 && s.audio_energy > 0; }}",
        timeout=30000,
    )
    pairs = page.evaluate(PAIR_JS)
    assert pairs and all(p == ["relay", "relay"] for p in pairs), pairs  # both ends relayed
    log = trial.coturn_log()
    # coturn allocated a relay for each side, with minted credentials ("<expiry>:<id>")
    assert log.count("ALLOCATE processed, success") >= 2, log[-2000:]
    users = set(re.findall(r"username=<(\d{10}):[0-9a-f]{12}>", log))
    minted = set(re.findall(r"username=<(\d{10}:[0-9a-f]{12})>", log))
    assert len(minted) >= 2, log[-2000:]  # the browser's and the server's, minted apart
    assert all(int(u) > time.time() for u in users)  # time-limited, not yet expired
    page.locator("#end-session").click()
    wait_text(page, "#results-transcript", "Offline demo", timeout_s=30)
    v.ctx.close()


def test_two_replicas_sticky_shared_archive_full_and_failover(trial, playwright_browser, wavs):
    trial.wait_states(lambda st: set(st.values()) == {"UP"})
    quiet = wavs["quiet"]
    before = _stored(trial)

    # -- two visitors, one conversation each: the second lands on the other replica ---------
    alice = Visitor(playwright_browser, quiet)
    a_page, _ = alice.open(trial.url)
    _talk(a_page, "Please remember the blue notebook")
    (ra,) = alice.replicas(a_page)
    trial.wait_states(lambda st: st.get(ra) == "DRAIN")  # full: no new visitors for it
    bob = Visitor(playwright_browser, quiet)
    b_page, _ = bob.open(trial.url)
    _talk(b_page, "Please remember the red umbrella")
    (rb,) = bob.replicas(b_page)
    assert {ra, rb} == {"r1", "r2"}

    # -- both full: the next visitor is refused with a clear page ------------------------------
    trial.wait_states(lambda st: st.get(rb) == "DRAIN" and st.get(ra) == "DRAIN")
    carol = Visitor(playwright_browser, quiet)
    c_page, resp = carol.open(trial.url, expect_ok=False)
    assert resp.status == 503
    assert "All conversation slots are taken" in c_page.locator("body").inner_text()
    # A visitor already placed on a full replica (its cookie) still gets the page, and pressing
    # start says why nothing happens, in the app's own words.
    dave = Visitor(playwright_browser, quiet)
    dave.force_replica(trial.url, ra)
    d_page, _ = dave.open(trial.url)
    start_conversation(d_page)
    toast = d_page.get_by_text("All conversation slots are taken right now")
    toast.first.wait_for(timeout=20000)
    assert dave.replicas(d_page) == {ra}
    d_page.close()

    # -- every request of a page went to one replica ------------------------------------------
    for v, page, r in ((alice, a_page, ra), (bob, b_page, rb)):
        assert v.replicas(page) == {r}, v.replicas(page)
        urls = v.urls(page)
        assert any("queue/join" in u for u in urls) and any("queue/data" in u for u in urls), urls
        assert any("component_server" in u for u in urls), urls  # fastrtc's turn() and offer

    # -- End session: both archives reach the bucket -----------------------------------------
    _end(a_page, "blue notebook")
    _end(b_page, "red umbrella")

    def new_sessions() -> dict[tuple[str, str], set[str]]:
        return {k: v for k, v in _stored(trial).items() if k not in before}

    sessions = wait_until(
        lambda: (
            (s := new_sessions())
            and len(s) == 2
            and all(
                {"meta.json", "transcript.jsonl", "events.jsonl"} <= files for files in s.values()
            )
            and s
        ),
        timeout=20,
    )
    assert len({owner for owner, _ in sessions}) == 2  # one visitor each

    # -- a page served by the other replica lists and opens them (owner checks hold) ----------
    trial.wait_states(lambda st: set(st.values()) == {"UP"})
    alice.force_replica(trial.url, rb)
    a2, _ = alice.open(trial.url)
    past = _past(a2)
    assert alice.replicas(a2) == {rb}, (
        alice.ctx.cookies(),
        [x for x in alice.seen[id(a2)] if x[1] != rb],
    )
    assert len(past) == 1 and "blue notebook" in past[0], past
    assert "blue notebook" in _open_past(a2, "blue notebook")
    assert "red umbrella" not in a2.locator("#results-transcript").inner_text()
    bob.force_replica(trial.url, ra)
    b2, _ = bob.open(trial.url)
    past_b = _past(b2)
    assert bob.replicas(b2) == {ra}
    assert len(past_b) == 1 and "red umbrella" in past_b[0], past_b
    carol_page, _ = carol.open(trial.url)  # a slot is free now: carol gets a page
    assert _past(carol_page) == []  # a third browser sees nobody's sessions
    for p in (a_page, b_page, b2, carol_page):
        p.close()

    # -- a replica dies mid-call: a clear message, and a new call lands on the survivor --------
    _talk(a2, "Please remember the green lamp")
    victim = rb
    survivor = ra
    trial.procs[victim].proc.kill()
    trial.procs[victim].proc.wait(10)
    state = a2.wait_for_function(
        "() => document.querySelector('#status [data-state=replica-lost]')?.innerText",
        timeout=30000,
    )
    assert "server running this conversation stopped" in state.json_value()
    trial.wait_states(lambda st: st.get(victim) == "DOWN")
    a3, _ = alice.open(trial.url)
    _talk(a3, "Please remember the yellow kite")
    assert alice.replicas(a3) == {survivor}
    _end(a3, "yellow kite")
