/* googlive call cues (loaded after call.js, whose state is window.__googliveCall):
 * - "Gemini is speaking" and a small output meter: an AnalyserNode on the model's audio as it
 *   arrives over WebRTC (the level of what is played), with the server's playback state
 *   ("paused"/"dropped" on a barge-in, googlive/media/bargein.py) silencing the cue at once;
 * - the call timer, and a warning before the time limit (a minute, or half a short limit);
 * - the transcript follows its newest line, unless the user scrolled up to read.
 */
(() => {
  "use strict";
  const S = window.__googliveCall;
  if (!S || S.cues) return;
  S.cues = true;
  const $ = (sel) => document.querySelector(sel);
  const notice = (...a) => S.notice(...a);
  const audioContext = () => S.audioContext();

  // ---- "Gemini is speaking" and the output meter ----------------------------------------------
  function meterOn(stream) {
    const ctx = audioContext();
    if (!ctx || !stream) return;
    meterOff();
    try {
      const src = ctx.createMediaStreamSource(stream);
      const an = ctx.createAnalyser();
      an.fftSize = 1024;
      src.connect(an);
      S.analyser = an; S.meterSrc = src;
    } catch (e) { S.analyser = null; }
  }
  function meterOff() {
    if (S.meterSrc) { try { S.meterSrc.disconnect(); } catch (e) { /* gone */ } }
    S.analyser = null; S.meterSrc = null; S.level = -120;
  }
  let loudSince = 0, quietSince = 0;
  const buf = new Float32Array(1024);
  setInterval(() => {
    const an = S.analyser;
    let db = -120;
    if (an) {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (let i = 0; i < buf.length; i++) sum += buf[i] * buf[i];
      db = 10 * Math.log10(sum / buf.length + 1e-12);
    }
    S.level = db;
    const now = performance.now();
    const loud = db > -50;
    if (loud) { loudSince = loudSince || now; quietSince = 0; } else { quietSince = quietSince || now; loudSince = 0; }
    let speaking = S.speaking;
    if (S.playState === "paused" || S.playState === "dropped") speaking = false;
    else if (loud && now - loudSince >= 60) speaking = true;
    else if (!loud && now - quietSince >= 400) speaking = false;
    S.speaking = speaking && S.inCall;
    const cue = $("#speaking-cue");
    if (cue) {
      cue.dataset.speaking = S.speaking ? "true" : "false";
      cue.dataset.level = String(Math.round(db));
      const txt = cue.querySelector(".cue-text");
      if (txt) txt.textContent = S.speaking ? "Gemini is speaking" : "Gemini is quiet";
      const lvl = cue.querySelector(".lvl");
      if (lvl) lvl.style.width = Math.max(0, Math.min(100, ((db + 70) / 55) * 100)) + "%"; // -70..-15 dBFS
    }
  }, 50);

  // ---- the call timer and the time-limit warning --------------------------------------------
  function clock(s) {
    s = Math.max(0, Math.floor(s));
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }
  function words(s) {
    s = Math.max(0, Math.round(s));
    return s >= 60 ? `${Math.floor(s / 60)} min${s % 60 ? " " + (s % 60) + " s" : ""}` : `${s} s`;
  }
  setInterval(() => {
    const el = $("#call-timer");
    if (!el) return;
    const limit = parseInt(el.dataset.limit || "0", 10);
    if (!S.inCall) { el.classList.remove("warn"); return; }
    const t = (performance.now() - S.startedAt) / 1000;
    el.textContent = clock(t) + (limit ? " / " + clock(limit) : "");
    const warnAt = limit ? limit - Math.min(60, limit / 2) : 0;
    if (limit && t >= warnAt) {
      el.classList.add("warn");
      if (!S.warned) {
        S.warned = true;
        notice("limit", `${words(limit - t)} left: this conversation ends at the time limit of ${words(limit)}.`, { limit: String(limit) });
      }
    }
  }, 500);

  // ---- the transcript follows its newest line ----------------------------------------------
  function follow(el) {
    if (el.__googliveFollow) return;
    el.__googliveFollow = true;
    let stick = true;
    el.addEventListener("scroll", () => { stick = el.scrollTop + el.clientHeight >= el.scrollHeight - 30; });
    new MutationObserver(() => { if (stick) el.scrollTop = el.scrollHeight; })
      .observe(el, { childList: true, subtree: true, characterData: true });
  }
  setInterval(() => {
    const el = document.getElementById("transcript");
    if (el) follow(el);
  }, 300);
  S.meterOn = meterOn;
  S.meterOff = meterOff;
})();
