/* googlive self-view: the user's own camera, straight from the device, in FastRTC's <video>.
 *
 * FastRTC's video component (fastrtc 0.0.34 templates/component/index-*.js) plays the local
 * camera in its <video> until the call connects; then, on each "track" event of its
 * RTCPeerConnection, it sets that element's srcObject to the remote stream: the model's audio
 * and the server's video. The server sends no video (googlive/media/rtcvideo.py: re-encoding the
 * camera at 30 fps for the self-view cost more than everything else in a video call), so after
 * each remote track this script gives the element a stream of [the track the video sender
 * sends, the remote audio tracks] instead. The user sees exactly what goes to the model (the
 * camera, a shared screen: replaceTrack is followed, a disabled track while the camera is off)
 * and the model's audio plays from the same element as before (duck.js mutes the remote track
 * itself, so every sink follows).
 *
 *
 * Send rate: the server says over FastRTC's data channel how many camera frames a second it
 * wants (`{"type": "googlive-video-rate", "max_fps": 2}`; null: no cap, e.g. while the call
 * is recorded), and this script sets the video sender's maxFramerate to it
 * (RTCRtpSender.setParameters): the browser encodes and sends only those, so the server
 * decodes only those. The self-view is the local track, so it keeps the camera's full rate.
 *
 *   googlive.selfView.status() -> {applied, local, element, maxFps, sentMaxFps}   (for tests)
 */
(() => {
  "use strict";
  const g = (window.googlive = window.googlive || {});
  if (g.selfView) return;
  const S = (g.selfView = { applied: 0, element: null, pc: null, local: null });

  function localTrack(pc) {
    const info = pc.__googliveSelfView;
    if (!info) return null;
    const t = info.sender && info.sender.track;
    if (t && t.readyState === "live") return t;
    return info.added && info.added.readyState === "live" ? info.added : null;
  }

  function apply(pc) {
    const info = pc.__googliveSelfView;
    if (!info || !info.remote || pc.connectionState === "closed") return;
    const remote = info.remote;
    const el =
      Array.from(document.querySelectorAll("video")).find((v) => v.srcObject === remote) ||
      (S.pc === pc ? S.element : null);
    const local = localTrack(pc);
    if (!el || !local) return; // nothing to show instead: leave FastRTC's stream
    const want = [local, ...remote.getAudioTracks()];
    const cur = el.srcObject;
    if (cur && cur !== remote && cur.getTracks().length === want.length &&
        want.every((t) => cur.getTracks().includes(t))) return;
    el.srcObject = new MediaStream(want);
    el.play().catch(() => {});
    S.element = el;
    S.pc = pc;
    S.local = local;
    S.applied += 1;
  }

  const RATE_MESSAGE = "googlive-video-rate";

  async function setRate(pc, fps) {
    const info = pc.__googliveSelfView;
    if (!info || !info.sender) return;
    info.maxFps = fps;
    try {
      const p = info.sender.getParameters();
      if (!p.encodings || !p.encodings.length) return;
      p.encodings.forEach((e) => {
        if (fps) e.maxFramerate = fps;
        else delete e.maxFramerate;
      });
      await info.sender.setParameters(p);
      S.maxFps = fps;
    } catch (err) {
      console.warn("googlive: camera send rate not set", err);
    }
  }

  function onMessage(pc, data) {
    if (typeof data !== "string" || data.indexOf(RATE_MESSAGE) < 0) return;
    let m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!m || m.type !== RATE_MESSAGE) return;
    const fps = typeof m.max_fps === "number" && m.max_fps > 0 ? m.max_fps : null;
    setRate(pc, fps);
  }

  function hook(pc) {
    if (pc.__googliveSelfView) return;
    const info = (pc.__googliveSelfView = { sender: null, added: null, remote: null });
    const prevAdd = pc.addTrack;
    pc.addTrack = function (track, ...streams) {
      const sender = prevAdd.call(this, track, ...streams);
      if (track && track.kind === "video" && sender && !info.sender) {
        info.sender = sender;
        info.added = track;
        const prevReplace = sender.replaceTrack;
        sender.replaceTrack = function (...args) {
          const p = prevReplace.apply(this, args);
          Promise.resolve(p).then(() => apply(pc), () => {});
          return p;
        };
      }
      return sender;
    };
    const prevChannel = pc.createDataChannel;
    pc.createDataChannel = function (...args) {
      const ch = prevChannel.apply(this, args);
      if (ch) ch.addEventListener("message", (e) => onMessage(pc, e.data));
      return ch;
    };
    pc.addEventListener("track", (e) => {
      if (e.streams && e.streams[0]) info.remote = e.streams[0];
      // FastRTC's own listener (added after this one) sets the remote stream: swap after it
      setTimeout(() => apply(pc), 0);
    });
  }

  S.status = () => ({
    applied: S.applied,
    maxFps: S.maxFps === undefined ? null : S.maxFps,
    sentMaxFps: (() => {
      const info = S.pc && S.pc.__googliveSelfView;
      const e = info && info.sender && info.sender.getParameters().encodings;
      return e && e[0] && e[0].maxFramerate !== undefined ? e[0].maxFramerate : null;
    })(),
    local: S.local ? { kind: S.local.kind, live: S.local.readyState === "live" } : null,
    element: !!S.element && S.element.srcObject && S.element.srcObject.getVideoTracks().includes(S.local),
  });
  (g.onPeerConnection = g.onPeerConnection || []).push(hook);
  (g.peerConnections || []).forEach(hook);
})();
