/* googlive call controls: the page side of a call (loaded into <head> by googlive/call/view.py).
 *
 * FastRTC's WebRTC component (fastrtc 0.0.34) owns the call: it asks for the camera and mic
 * with getUserMedia, makes one RTCPeerConnection per call with a data channel "text", and
 * stops every sender's track when the call ends. This script works around it, never inside:
 *
 * - getUserMedia is wrapped so that a missing or denied device is never a dead end: the
 *   component's request for camera+mic falls back to whatever works, with a silent audio or a
 *   blank video track standing in for the missing one (so the call still negotiates both), and
 *   the notice line says what happened and how to fix it.
 * - RTCPeerConnection is wrapped to keep the component's connection and its data channel. Over
 *   that channel the page reports what it sends ({"type": "googlive-media", ...}); the server
 *   (googlive/call/control.py) applies it and acknowledges; unacknowledged reports are repeated.
 * - Mute and camera off disable the local tracks (nothing leaves the browser) and tell the
 *   server (nothing reaches the model). Share screen swaps the video sender's track for a
 *   getDisplayMedia track with RTCRtpSender.replaceTrack: no renegotiation, the server's video
 *   path (<= 1 frame a second to the model, the self-view) is unchanged; stopping (or the
 *   browser's own "Stop sharing") swaps the camera back.
 * - The status says "Connecting…" from the click (the server's first word comes ~1.6 s later).
 * googlive/web/callcues.js draws the speaking cue, the output meter, the call timer and keeps
 * the transcript at its newest line, from the state kept here (window.__googliveCall).
 */
(() => {
  "use strict";
  if (window.__googliveCall) return;
  const S = (window.__googliveCall = {
    pc: null, channel: null, stream: null, inCall: false,
    muted: false, camOff: false, micMissing: "", camMissing: "",
    screen: null, cameraTrack: null, sender: null,
    seq: 0, acked: -1, startedAt: 0, warned: false,
    level: -120, speaking: false, playState: "", audioCtx: null, analyser: null,
    notices: {},
  });
  const $ = (sel) => document.querySelector(sel);

  // ---- notices ---------------------------------------------------------------------------
  function notice(key, text, attrs) {
    if (text) S.notices[key] = { text, attrs: attrs || {} };
    else delete S.notices[key];
    const box = $("#call-notice");
    if (!box) return;
    box.replaceChildren(
      ...Object.entries(S.notices).map(([k, n]) => {
        const d = document.createElement("div");
        d.dataset.notice = k;
        for (const [a, v] of Object.entries(n.attrs)) d.dataset[a] = v;
        d.textContent = n.text;
        return d;
      })
    );
  }
  const WHAT = {
    denied: "access is blocked for this site",
    absent: "was not found",
    busy: "is in use by another app or could not start",
    insecure: "needs a secure page (https:// or localhost)",
    error: "could not be opened",
  };
  const FIX = {
    denied: "allow it in the browser's site settings (the icon left of the address), then reload the page",
    absent: "connect one and reload the page",
    busy: "close the other app or tab that uses it, then reload the page",
    insecure: "open the app over https:// or from localhost",
    error: "reload the page to try again",
  };
  function deviceNotices() {
    const cam = S.camMissing, mic = S.micMissing;
    notice("camera", cam && `Camera ${WHAT[cam]}: the call works without video (Gemini can't see you). To use your camera, ${FIX[cam]}.`, { device: "camera", why: cam });
    notice("mic", mic && `Microphone ${WHAT[mic]}: you can still type to Gemini, and it answers aloud. To talk, ${FIX[mic]}.`, { device: "mic", why: mic });
  }
  function why(err) {
    const n = (err && err.name) || "";
    if (n === "NotAllowedError" || n === "SecurityError" || n === "PermissionDeniedError") return "denied";
    if (n === "NotFoundError" || n === "OverconstrainedError" || n === "DevicesNotFoundError") return "absent";
    if (n === "NotReadableError" || n === "AbortError" || n === "TrackStartError") return "busy";
    return "error";
  }

  // ---- stand-in tracks for a missing device -------------------------------------------------
  function blankVideoTrack() {
    const c = document.createElement("canvas");
    c.width = 320; c.height = 240;
    const g = c.getContext("2d");
    const draw = () => {
      g.fillStyle = "#202124"; g.fillRect(0, 0, c.width, c.height);
      g.fillStyle = "#e8eaed"; g.font = "18px sans-serif"; g.textAlign = "center";
      g.fillText("No camera", c.width / 2, c.height / 2);
    };
    draw();
    const track = c.captureStream(2).getVideoTracks()[0];
    const timer = setInterval(() => (track.readyState === "ended" ? clearInterval(timer) : draw()), 500);
    track.__googliveStandIn = true;
    return track;
  }
  function audioContext() {
    if (!S.audioCtx) {
      const AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return null;
      S.audioCtx = new AC();
    }
    if (S.audioCtx.state === "suspended") S.audioCtx.resume().catch(() => {});
    return S.audioCtx;
  }
  function silentAudioTrack() {
    const ctx = audioContext();
    if (!ctx) return null;
    const dst = ctx.createMediaStreamDestination();
    const src = ctx.createConstantSource();
    src.offset.value = 0; src.connect(dst); src.start();
    const track = dst.stream.getAudioTracks()[0];
    track.__googliveStandIn = true;
    return track;
  }

  // ---- getUserMedia with fallbacks ------------------------------------------------------------
  // The model looks at the camera about once a second, and take_picture's closer look is only
  // as sharp as the frames that arrive: a busy browser should drop frames, not pixels. Chrome's
  // encoder keeps the resolution for a track hinted "detail" (W3C mst-content-hint: "detail"
  // asks the encoder to favour spatial quality; libwebrtc maps it to degradation preference
  // MAINTAIN_RESOLUTION), where by default its CPU-overuse adaptation scales a 640x480 camera
  // down to 480x360 and lower (seen in our own full-suite runs on a loaded machine).
  function hintDetail(track) {
    if (track && track.kind === "video" && !track.__googliveStandIn && "contentHint" in track) {
      try { track.contentHint = "detail"; } catch (e) { /* an older browser: its default */ }
    }
  }
  function remember(stream) {
    stream.getVideoTracks().forEach(hintDetail);
    S.stream = stream;
    applyTracks();
    render();
    return stream;
  }
  async function fallback(orig, c, first) {
    let audio = null, video = null, eA = first, eV = first;
    try { audio = await orig({ audio: c.audio }); } catch (e) { eA = e; }
    try { video = await orig({ video: c.video }); } catch (e) { eV = e; }
    const out = new MediaStream();
    if (audio) audio.getAudioTracks().forEach((t) => out.addTrack(t));
    else { const t = silentAudioTrack(); if (t) out.addTrack(t); }
    if (video) video.getVideoTracks().forEach((t) => out.addTrack(t));
    else out.addTrack(blankVideoTrack());
    S.micMissing = audio ? "" : why(eA);
    S.camMissing = video ? "" : why(eV);
    deviceNotices();
    sendMedia();
    return remember(out);
  }
  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const orig = md.getUserMedia.bind(md);
    md.getUserMedia = async (c) => {
      c = c || {};
      try {
        const s = await orig(c);
        if (c.audio && c.video) { S.micMissing = ""; S.camMissing = ""; deviceNotices(); sendMedia(); }
        return remember(s);
      } catch (e) {
        if (!(c.audio && c.video)) throw e;
        return fallback(orig, c, e);
      }
    };
  } else {
    // Not a secure context: the browser offers no devices at all. Stand-ins let a typed
    // conversation still run (WebRTC itself works on plain http).
    const stub = {
      getUserMedia: async (c) => {
        const out = new MediaStream();
        if (c && c.audio) { const t = silentAudioTrack(); if (t) out.addTrack(t); }
        if (c && c.video) out.addTrack(blankVideoTrack());
        S.micMissing = "insecure"; S.camMissing = "insecure";
        deviceNotices(); sendMedia();
        return remember(out);
      },
      enumerateDevices: async () => [],
    };
    try { Object.defineProperty(navigator, "mediaDevices", { value: stub, configurable: true }); } catch (e) { /* leave it */ }
  }

  // ---- the component's peer connection and data channel -----------------------------------
  const OrigPC = window.RTCPeerConnection;
  if (OrigPC) {
    const Wrapped = function (...args) {
      const pc = new OrigPC(...args);
      adopt(pc);
      return pc;
    };
    Wrapped.prototype = OrigPC.prototype;
    Object.setPrototypeOf(Wrapped, OrigPC);
    window.RTCPeerConnection = Wrapped;
  }
  // FastRTC's component ends the call on "disconnected" (its connectionstatechange listener
  // stops every track), but that state is transient by definition: it is entered when ICE
  // consent checks go unanswered for a few seconds and left again when they resume (W3C
  // webrtc-pc RTCPeerConnectionState; RFC 7675 only fails a pair after 30 s). A busy server or
  // a short network blip would end the conversation. So FastRTC's listener hears of it only
  // if the connection stays disconnected for DISCONNECT_GRACE_MS (the 30 s after which consent
  // expires on both sides, RFC 7675 section 5.1); "failed" and "closed" at once.
  const DISCONNECT_GRACE_MS = 30000;
  function holdDisconnects(pc) {
    const add = pc.addEventListener.bind(pc);
    pc.addEventListener = (type, fn, opts) => {
      if (type !== "connectionstatechange" || typeof fn !== "function") return add(type, fn, opts);
      let timer = null;
      return add(type, (ev) => {
        clearTimeout(timer);
        if (pc.connectionState !== "disconnected") return fn.call(pc, ev);
        timer = setTimeout(() => { if (pc.connectionState === "disconnected") fn.call(pc, ev); }, DISCONNECT_GRACE_MS);
      }, opts);
    };
  }
  function adopt(pc) {
    S.pc = pc;
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== S.pc || !S.inCall) return;
      if (pc.connectionState === "disconnected") {
        const span = $("#status .st");
        if (span && span.dataset.state !== "interrupted") S.statusBefore = [span.dataset.state, span.textContent];
        setStatus("interrupted", "Connection interrupted: trying to restore it…");
      } else if (pc.connectionState === "connected" && S.statusBefore) {
        const span = $("#status .st");
        // Only if nothing newer came from the server meanwhile (it replaces the whole line).
        if (span && span.dataset.state === "interrupted") setStatus(...S.statusBefore);
        S.statusBefore = null;
      }
    });
    holdDisconnects(pc);
    const cdc = pc.createDataChannel.bind(pc);
    pc.createDataChannel = (label, opts) => {
      const ch = cdc(label, opts);
      if (label === "text") adoptChannel(ch);
      return ch;
    };
    // A stand-in track (no device) is negotiated like a real one, so the call has both
    // kinds, but sends nothing at all: nothing from a missing device ever reaches the server.
    const addTrack = pc.addTrack.bind(pc);
    pc.addTrack = (track, ...streams) => {
      const sender = addTrack(track, ...streams);
      if (track && track.__googliveStandIn) sender.replaceTrack(null).catch(() => {});
      return sender;
    };
    const close = pc.close.bind(pc);
    pc.close = () => { ended(pc); return close(); };
    pc.addEventListener("connectionstatechange", () => {
      const st = pc.connectionState;
      if (st === "connected") started(pc);
      else if (st === "failed" || st === "closed") ended(pc);
    });
    pc.addEventListener("track", (ev) => {
      if (ev.track.kind === "audio" && S.meterOn) S.meterOn(ev.streams[0] || new MediaStream([ev.track]));
    });
    const bar = $("#call-bar");
    const wait = 1000 * (parseFloat((bar && bar.dataset.connectTimeout) || "8") + GIVE_UP_AFTER_S);
    setTimeout(() => giveUp(pc), wait);
  }
  // A connection that never leaves "new"/"checking" (no candidate pair works: a page with no
  // usable address, a blocked relay) gets no state change from the browser, ever, and the
  // server has freed its slot after its connect timeout. A little after that, the page ends it
  // as the browser would a failed one: FastRTC's own "failed" handling (its "Connection
  // failed!" notice, the start button back) and this script's (the status says why).
  const GIVE_UP_AFTER_S = 2;
  function giveUp(pc) {
    if (pc !== S.pc || S.inCall || pc.connectionState === "connected") return;
    if (pc.connectionState === "closed") return;
    Object.defineProperty(pc, "connectionState", { configurable: true, get: () => "failed" });
    pc.dispatchEvent(new Event("connectionstatechange"));
    try { pc.close(); } catch (e) { /* already closed by FastRTC */ }
  }
  function adoptChannel(ch) {
    S.channel = ch; S.acked = -1;
    ch.addEventListener("open", () => sendMedia());
    ch.addEventListener("message", (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (!m || typeof m !== "object") return;
      if (m.type === "googlive-media-ack" && typeof m.seq === "number") S.acked = Math.max(S.acked, m.seq);
      else if (m.type === "googlive_playback") S.playState = String(m.state || "");
      else if (m.type === "update_connection" && m.data === "closed") hungUp(ch);
    });
  }
  // The server hangs up (a failure, the time limit) with FastRTC's update_connection message.
  // The component acts on it through a property that only reacts to a change, so it works
  // once per page (the second "closed" is the same value): if the call is still up a moment
  // later, end it as its own button would. Only that call: a new one started meanwhile (End
  // session, then Start conversation within the moment) is not ended by the old one's word
  // (seen in our lifecycle test: the second call stopped 0.1 s after it went live).
  const START_BTN = '#webrtc button[aria-label="start stream"]';
  function hungUp(ch) {
    setTimeout(() => {
      if (S.channel !== ch) return; // that call is over; this is another one (or none)
      const btn = $(START_BTN);
      if (!btn || !btn.querySelector('[title="stop recording"], [title="spinner"]')) return;
      S.hangingUp = true;
      try { btn.click(); } finally { S.hangingUp = false; }
    }, 800);
  }
  function mediaReport() {
    return {
      type: "googlive-media", seq: S.seq,
      mic: S.micMissing ? "missing" : S.muted ? "off" : "on",
      camera: S.camMissing ? "missing" : S.camOff ? "off" : "on",
      screen: !!S.screen, mic_why: S.micMissing, camera_why: S.camMissing,
    };
  }
  function sendMedia() {
    S.seq += 1;
    push();
  }
  function push() {
    const ch = S.channel;
    if (ch && ch.readyState === "open" && S.acked < S.seq) {
      try { ch.send(JSON.stringify(mediaReport())); } catch (e) { /* closing */ }
    }
  }
  setInterval(push, 300); // until the server has acknowledged the newest report

  // ---- the call's life on the page -----------------------------------------------------------
  function setStatus(kind, text) {
    const span = $("#status .st");
    if (!span) return;
    span.textContent = text;
    span.className = "st st-" + kind;
    span.dataset.state = kind;
    delete span.dataset.mic; // those are the server's word on the devices, not the page's
    delete span.dataset.camera;
    delete span.dataset.screen;
  }
  function started(pc) {
    if (pc !== S.pc || S.inCall) return;
    S.inCall = true; S.startedAt = performance.now(); S.warned = false;
    notice("limit", "");
    render(); sendMedia();
  }
  // A call that never connected says so, with what to do: the server's words never come
  // (no data channel), and "Connecting…" would otherwise stay on screen for good.
  const NO_PATH = "Could not connect the call: no network path between this browser and the " +
    "server (a firewall, VPN or strict network can block it). Press Start conversation to try again.";
  const NOT_STARTED = "The call did not start. Press Start conversation to try again.";
  function ended(pc) {
    if (pc !== S.pc) return;
    const was = S.inCall;
    const span = $("#status .st");
    if (!was && span && span.dataset.state === "connecting") {
      const noPath = pc.connectionState === "failed" || pc.iceConnectionState === "failed";
      setStatus("failed", noPath ? NO_PATH : NOT_STARTED);
    }
    S.inCall = false; S.channel = null; S.playState = "";
    if (S.screen) { S.screen.stop(); S.screen = null; }
    if (S.cameraTrack) { S.cameraTrack.stop(); S.cameraTrack = null; } // displaced by the screen
    if (S.meterOff) S.meterOff();
    notice("limit", ""); // the warning was about this call
    if (was) render();
  }
  document.addEventListener("click", (ev) => {
    const t = ev.target instanceof Element ? ev.target : null;
    if (!t) return;
    if (t.closest("#end-session")) {
      if (S.inCall) setStatus("ending", "Ending the conversation: saving it for Results…");
      return;
    }
    const btn = t.closest(START_BTN);
    if (!btn || S.hangingUp) return; // the server ended it: its status says why
    const running = btn.querySelector('[title="stop recording"], [title="spinner"]');
    if (running) setStatus("ending", "Ending the conversation: saving it for Results…");
    else {
      setStatus("connecting", "Connecting…");
      audioContext(); // a user gesture: the output meter may start its audio context now
    }
  }, true);

  // ---- controls --------------------------------------------------------------------------------
  function applyTracks() {
    const s = S.stream;
    if (!s) return;
    s.getAudioTracks().forEach((t) => { if (!t.__googliveStandIn) t.enabled = !S.muted; });
    s.getVideoTracks().forEach((t) => { if (!t.__googliveStandIn) t.enabled = !S.camOff; });
  }
  function setButton(id, { text, pressed, disabled, title }) {
    const b = document.getElementById(id);
    if (!b) return;
    b.textContent = text;
    b.setAttribute("aria-pressed", pressed ? "true" : "false");
    b.disabled = !!disabled;
    if (title) b.title = title;
  }
  const canShare = !!(navigator.mediaDevices && navigator.mediaDevices.getDisplayMedia);
  function render() {
    setButton("mic-btn", S.micMissing
      ? { text: "No microphone", pressed: false, disabled: true, title: "No microphone: type to Gemini" }
      : { text: S.muted ? "Unmute mic" : "Mute mic", pressed: S.muted });
    setButton("cam-btn", S.camMissing
      ? { text: "No camera", pressed: false, disabled: true, title: "No camera in this call" }
      : { text: S.camOff ? "Camera on" : "Camera off", pressed: S.camOff });
    setButton("screen-btn", {
      text: S.screen ? "Stop sharing" : "Share screen", pressed: !!S.screen,
      disabled: !canShare || !S.inCall,
      title: !canShare ? "This browser cannot share its screen" : S.inCall
        ? "Show Gemini your screen instead of your camera" : "Start the conversation first",
    });
    const bar = $("#call-bar");
    if (bar) bar.dataset.inCall = S.inCall ? "true" : "false";
  }
  async function shareScreen() {
    const pc = S.pc;
    const tr = pc && pc.getTransceivers().find((t) => t.receiver && t.receiver.track && t.receiver.track.kind === "video");
    const sender = tr && tr.sender;
    if (!S.inCall || !sender) { notice("screen", "Start the conversation first, then share your screen."); return; }
    let ds;
    try {
      ds = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 5, max: 15 } }, audio: false });
    } catch (e) {
      notice("screen", e && e.name === "NotAllowedError"
        ? "Screen sharing was cancelled or is blocked: nothing is shared. Press Share screen to try again."
        : "Screen sharing could not start in this browser.");
      return;
    }
    const track = ds.getVideoTracks()[0];
    if (!track) return;
    hintDetail(track); // text on a shared screen must stay legible
    S.cameraTrack = sender.track; S.sender = sender;
    await sender.replaceTrack(track);
    S.screen = track;
    track.addEventListener("ended", stopScreen); // the browser's own "Stop sharing"
    notice("screen", "");
    render(); sendMedia();
  }
  async function stopScreen() {
    const track = S.screen;
    if (!track) return;
    S.screen = null;
    const cam = S.cameraTrack;
    S.cameraTrack = null;
    if (S.sender) {
      const back = cam && cam.readyState === "live" && !cam.__googliveStandIn ? cam : null;
      try { await S.sender.replaceTrack(back); } catch (e) { /* the call ended meanwhile */ }
    }
    track.stop();
    render(); sendMedia();
  }
  document.addEventListener("click", (ev) => {
    const b = ev.target instanceof Element ? ev.target.closest("#call-bar .cbtn") : null;
    if (!b || b.disabled) return;
    if (b.id === "mic-btn") S.muted = !S.muted;
    else if (b.id === "cam-btn") S.camOff = !S.camOff;
    else if (b.id === "screen-btn") { S.screen ? stopScreen() : shareScreen(); return; }
    else return;
    applyTracks(); render(); sendMedia();
  });

  // The controls are drawn by Gradio after this script ran: fill them in once they exist.
  const drawn = setInterval(() => {
    if (document.getElementById("mic-btn")) { clearInterval(drawn); render(); deviceNotices(); }
  }, 300);
  S.notice = notice;
  S.audioContext = audioContext;
})();
