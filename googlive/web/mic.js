/* googlive page hook: the microphone's audio processing, as the app asks for it.
 *
 * In audio-video mode FastRTC's page (fastrtc 0.0.34 templates/component/index-*.js, the
 * video component's getUserMedia call) asks for `{video: track_constraints, audio: true}`:
 * the WebRTC component's `track_constraints` are used as the VIDEO constraints and the audio
 * gets none of the app's. Checked in Chromium 156: the mic track then reports the browser's
 * defaults (echoCancellation, noiseSuppression, autoGainControl all true) — right today, but
 * only by luck of the defaults. This wrapper makes them the app's choice: a getUserMedia call
 * whose `audio` is `true` gets `googlive.audioConstraints` (set by the page head from
 * googlive/ui.py AUDIO_CONSTRAINTS); an `audio` object keeps its own keys and gets the missing
 * ones. Calls without audio are untouched. The VAD's echo guard stays on the server
 * (googlive/media/echo.py): the browser's canceller is a first stage, not a replacement.
 *
 * `googlive.mic.status()` → {wrapped, rewritten, requested} for tests and diagnostics.
 */
(() => {
  "use strict";
  const g = (window.googlive = window.googlive || {});
  const md = navigator.mediaDevices;
  if (g.mic || !md || typeof md.getUserMedia !== "function") return;
  const prev = md.getUserMedia.bind(md);
  const mic = { rewritten: 0, requested: null };
  g.mic = mic;
  mic.constraints = (audio) => {
    const want = g.audioConstraints || {};
    if (audio === true) return { ...want };
    if (audio && typeof audio === "object") return { ...want, ...audio };
    return audio;
  };
  md.getUserMedia = function (constraints) {
    if (constraints && constraints.audio) {
      const audio = mic.constraints(constraints.audio);
      mic.rewritten += 1;
      mic.requested = audio;
      constraints = { ...constraints, audio };
    }
    return prev(constraints);
  };
  mic.status = () => ({
    wrapped: md.getUserMedia !== prev,
    rewritten: mic.rewritten,
    requested: mic.requested,
  });
})();
