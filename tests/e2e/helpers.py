"""Page-driving helpers shared by the browser tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PageTimeout

STATS_JS = """
async () => {
  const out = {audio_packets: 0, audio_samples: 0, audio_energy: 0, audio_concealed: 0, video_frames: 0, pcs: (window.__pcs||[]).length};
  for (const pc of (window.__pcs || [])) {
    const stats = await pc.getStats();
    stats.forEach(r => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        out.audio_packets += r.packetsReceived || 0;
        out.audio_samples += r.totalSamplesReceived || 0;
        out.audio_energy += r.totalAudioEnergy || 0;
        out.audio_concealed += r.concealedSamples || 0;
      }
      if (r.type === 'inbound-rtp' && r.kind === 'video') out.video_frames += r.framesDecoded || 0;
    });
  }
  return out;
}
"""


def start_conversation(page: Any, timeout_s: float = 30) -> None:
    """Open the camera as a user would, wait for it, then press start."""
    root = page.locator("#webrtc")
    root.wait_for(timeout=timeout_s * 1000)
    access = root.get_by_text("Click to Access Webcam")
    if access.count():
        access.first.click()
    page.wait_for_function(
        "() => { const v = document.querySelector('#webrtc video'); return v && v.videoWidth > 0; }",
        timeout=timeout_s * 1000,
    )
    page.locator('#webrtc button[aria-label="start stream"]').first.click()


PAGE_STATE_JS = """
(sel) => {
  const e = document.querySelector(sel);
  const st = document.querySelector('#status .st');
  return {
    text: e ? e.innerText.slice(0, 300) : null,
    status: st ? [st.dataset.state, st.textContent.slice(0, 120)] : null,
    pcs: (window.__pcs || []).map(pc => [pc.connectionState, pc.iceConnectionState, pc.signalingState,
      pc.sctp ? pc.sctp.state : 'no-sctp']),
    channel: window.__googliveCall && window.__googliveCall.channel
      ? window.__googliveCall.channel.readyState : null,
  };
}
"""


# Gradio's traffic as the page saw it: each queue join (which event, its id) and each message
# on the queue's event stream (its kind and event id), the last 120, for a failed test's
# report (tests/conftest.py): "the server answered but the page never showed it" is then told
# apart from "the answer never reached the page". Ids and message kinds only, never data.
NET_TRACE_JS = """
(() => {
  const log = window.__glNet = [];
  const t0 = performance.now();
  const add = (...e) => { log.push([Math.round(performance.now() - t0), ...e]); if (log.length > 120) log.shift(); };
  const f = window.fetch;
  window.fetch = async (input, init) => {
    const url = String(input && input.url || input);
    const q = url.includes('/queue/');
    let fn = '';
    if (q && init && typeof init.body === 'string') { try { fn = JSON.parse(init.body).fn_index; } catch (e) {} }
    const r = await f(input, init);
    if (q) {
      const path = url.replace(/^https?:\\/\\/[^/]+/, '').split('?')[0];
      if (url.includes('/queue/join')) r.clone().json().then(j => add('join', fn, r.status, j && j.event_id), () => add('join', fn, r.status));
      else if (url.includes('/queue/data') && r.body && window.TransformStream) {
        add('stream', r.status);
        const dec = new TextDecoder();
        let buf = '';
        const spy = new TransformStream({
          transform(chunk, ctl) {
            buf += dec.decode(chunk, {stream: true});
            const parts = buf.split('\\n\\n'); buf = parts.pop();
            for (const p of parts) {
              const m = /"msg":\\s*"(\\w+)"/.exec(p), e = /"event_id":\\s*"(\\w+)"/.exec(p);
              if (m && m[1] !== 'heartbeat') add('msg', m[1], e ? e[1] : '');
            }
            ctl.enqueue(chunk);
          },
          flush() { add('stream-end'); },
        });
        return new Response(r.body.pipeThrough(spy), {status: r.status, statusText: r.statusText, headers: r.headers});
      } else add('fetch', path, r.status);
    }
    return r;
  };
  // The user's edits of text fields (which field, the length of its value; never the text).
  document.addEventListener('input', (ev) => {
    const t = ev.target;
    if (!(t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement) || t.type === 'radio') return;
    const host = t.closest('[id]');
    add('input', host ? host.id : t.tagName, t.value.length);
  }, true);
  const ES = window.EventSource;
  if (ES) {
    window.EventSource = function (url, opts) {
      const es = new ES(url, opts);
      add('es-open', String(url).split('?')[0].slice(-30));
      es.addEventListener('message', (ev) => {
        try { const m = JSON.parse(ev.data); if (m.msg !== 'heartbeat') add('es', m.msg, m.event_id); } catch (e) { add('es', 'unparsed'); }
      });
      es.addEventListener('error', () => add('es-error', es.readyState));
      return es;
    };
    window.EventSource.prototype = ES.prototype;
  }
})();
"""


def wait_text(page: Any, selector: str, needle: str, timeout_s: float = 30) -> str:
    """Wait until `selector` shows `needle`; if it never does, fail with what the page showed
    instead (the element, the call's status line, each peer connection's states)."""
    try:
        page.wait_for_function(
            "([sel, n]) => { const e = document.querySelector(sel); return e && e.innerText.includes(n); }",
            arg=[selector, needle],
            timeout=timeout_s * 1000,
        )
    except PageTimeout as exc:
        try:
            seen = page.evaluate(PAGE_STATE_JS, selector)
        except Exception as inner:  # the page itself is gone
            seen = f"(page state unavailable: {inner})"
        raise AssertionError(
            f"{selector} never showed {needle!r} in {timeout_s} s; {seen}"
        ) from exc
    return page.locator(selector).inner_text()


def stats(page: Any) -> dict[str, float]:
    return page.evaluate(STATS_JS)


def sample_stats(
    page: Any, seconds: float, every: float = 0.2
) -> list[tuple[float, dict[str, float]]]:
    out = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        out.append((time.monotonic(), stats(page)))
        page.wait_for_timeout(every * 1000)
    return out


AXE_PATH = (
    Path(__file__).resolve().parents[2]
    / "tools"
    / "a11y"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)

AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.html.slice(0, 160))}));
}"""


def axe_violations(
    page: Any, impacts: tuple[str, ...] = ("serious", "critical")
) -> list[dict[str, Any]]:
    """axe-core's violations of these impacts on the page as it is now (axe-core from npm:
    `npm ci --prefix tools/a11y`, injected with Playwright's add_script_tag)."""
    if not AXE_PATH.is_file():
        raise RuntimeError(f"axe-core is missing: run `npm ci --prefix tools/a11y` ({AXE_PATH})")
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(path=str(AXE_PATH))
    return [v for v in page.evaluate(AXE_RUN) if v["impact"] in impacts]
