/* googlive page duck (issue 19): silence the model in the browser the moment the user speaks.
 *
 * Everything the server does about a barge-in (googlive/media/bargein.py: pause, then resume or
 * drop) reaches the ear only after the uplink trip, aiortc's receive buffer, the VAD and the
 * audio already on its way down (WebRTC queue, jitter buffer). So the page mutes the model's
 * audio itself, at once, on the mic's energy onset, and lets the server decide what follows:
 *
 *   clear ──mic onset while the model is heard──▶ local (muted) ──server "paused"/"dropped"──▶ held
 *     ▲                                              │                                          │
 *     │◀── no server word within confirmMs ──────────┘ (a false duck: the server's VAD and       │
 *     │    echo guard did not count it; the page's echo margin rises)                           │
 *     │◀── server "playing" (resumed, or the next turn) / "idle" / holdMs without news ─────────┘
 *
 * - Onset: an AudioWorklet on the page's own mic track (the track FastRTC sends) computes the
 *   level of every 128-sample render quantum (2.7 ms at 48 kHz) on the AudioContext clock; an
 *   onset is 3 of 4 consecutive quanta (~11 ms) above max(noise floor + 12 dB, -45 dBFS,
 *   model's level - 15 dB + learnt margin). The model's level is read from the remote track
 *   in the same worklet (held, fading 50 dB/s): the browser's echo canceller leaves the
 *   model's own voice at the mic far below what is played, and a louder mic is the user.
 *   A keyboard click (a few ms) never fills 3 quanta.
 * - Mute: the remote audio track's `enabled = false` (every sink of the track, the <video>
 *   element FastRTC plays it on included, gets silence from the next 10 ms chunk on).
 * - The server's word: `{"type":"googlive_playback","state":"playing|paused|dropped|idle",
 *   "turn":N,"seq":k}` on FastRTC's data channel (googlive/handler.py _set_play_state).
 *   "paused"/"dropped" also mute what is still in flight when the page did not hear the onset
 *   itself; "playing" (a resume from the start of the cut word, or the next turn) restores.
 * - Failsafes (never leave the user deaf): a local mute the server does not confirm within
 *   `confirmMs` (350 ms + 2 × the connection's round trip, or 1.5 × the slowest late
 *   confirmation seen, clamped to 0.5-1.5 s) is undone (a "paused" that comes after all
 *   re-mutes, takes the echo margin step back and lengthens the wait),
 *   and any mute is undone after `holdMs` (3 s) without a server message (the server's pause
 *   always ends by itself within its 2 s talk limit; after a drop nothing more is playing).
 *
 * Page API (window.googlive.duck):
 *   enabled            true; false (or the page URL's `?duck=0`) turns the page duck off: the
 *                      server-side pause alone decides what is heard (the bench's baseline)
 *   status()           {pc, mic, remote, channel, worklet, context, enabled, ducked, mode, ...}:
 *                      a browser test asserts pc/mic/remote/channel/worklet are all true during
 *                      a call, so a FastRTC update that hides its streams fails loudly
 *   events             the last 500 {t (performance.now ms), ctxTime, kind, ...} entries
 *   context, micTrack, remoteTrack   the AudioContext and tracks in use (for probes)
 *   DuckPolicy         (window.googlive.DuckPolicy) the pure state machine, unit-tested in Node
 *
 * Needs peer.js (the RTCPeerConnection registry) loaded first.
 */
(() => {
  "use strict";
  const g = (window.googlive = window.googlive || {});

  /* ---- the pure policy: times in ms, no I/O ------------------------------------------- */
  class DuckPolicy {
    constructor(options = {}) {
      this.o = {
        confirmMs: 700,
        holdMs: 3000,
        refAudibleDb: -55, // the model counts as heard when its level at the page is above
        marginStepDb: 6,
        marginMaxDb: 18,
        marginRelaxDb: 3,
        ...options,
      };
      this.enabled = true;
      this.mode = "clear"; // clear | local | held
      this.since = 0;
      this.lastServerAt = 0;
      this.server = { state: "idle", turn: null, seq: 0 };
      this.heldTurn = null;
      this.extraMarginDb = 0;
      this.onsetAt = -Infinity; // the last local mute
      this.unconfirmedAt = -Infinity; // the last local mute undone for want of a server word
      this.learnedMs = 0; // 1.5 x the slowest late confirmation seen
    }

    /** Set the wait for the server's word from the connection's round trip (ms). */
    setRtt(rttMs) {
      this.o.confirmMs = Math.min(1500, Math.max(500, this.learnedMs, 350 + 2 * rttMs));
    }

    get ducked() {
      return this.enabled && this.mode !== "clear";
    }

    setEnabled(on) {
      this.enabled = !!on;
      if (!this.enabled && this.mode !== "clear") return this._release("disabled");
      return null;
    }

    /** The mic's energy onset at `now`; `refDb` the model's level at the page then. */
    onset(now, refDb) {
      if (!this.enabled || this.mode !== "clear") return null;
      if (this.server.state !== "playing" && !(refDb > this.o.refAudibleDb)) return null;
      this.mode = "local";
      this.since = now;
      this.onsetAt = now;
      return { kind: "duck", reason: "onset" };
    }

    /** A googlive_playback message from the server. */
    message(msg, now) {
      if (!msg || typeof msg.seq !== "number" || msg.seq <= this.server.seq) return null;
      this.server = { state: String(msg.state), turn: msg.turn, seq: msg.seq };
      this.lastServerAt = now;
      const st = this.server.state;
      if (!this.enabled) return null;
      if (st === "paused" || st === "dropped") {
        const confirmed = this.mode === "local";
        if (confirmed)
          this.extraMarginDb = Math.max(0, this.extraMarginDb - this.o.marginRelaxDb);
        if (this.mode === "clear" && now - this.unconfirmedAt < 2000) {
          // the server was only slow: that mute was right; wait longer next time
          this.extraMarginDb = Math.max(0, this.extraMarginDb - this.o.marginStepDb);
          this.learnedMs = Math.max(this.learnedMs, 1.5 * (now - this.onsetAt));
          this.o.confirmMs = Math.min(1500, Math.max(this.o.confirmMs, this.learnedMs));
          this.unconfirmedAt = -Infinity;
        }
        const was = this.mode;
        this.mode = "held";
        this.since = now;
        this.heldTurn = msg.turn;
        return was === "clear" ? { kind: "duck", reason: st } : { kind: "hold", reason: st };
      }
      if (this.mode === "clear") return null;
      if (st === "playing")
        return this._release(
          this.mode === "held" && msg.turn === this.heldTurn ? "resumed" : "playing",
        );
      return this._release(st); // "idle": nothing of the model is being played
    }

    /** Time passed: the failsafes. */
    tick(now) {
      if (this.mode === "local" && now - this.since >= this.o.confirmMs) {
        this.extraMarginDb = Math.min(
          this.o.marginMaxDb,
          this.extraMarginDb + this.o.marginStepDb,
        );
        this.unconfirmedAt = now;
        return this._release("unconfirmed");
      }
      if (this.mode === "held" && now - Math.max(this.lastServerAt, this.since) >= this.o.holdMs)
        return this._release("failsafe");
      return null;
    }

    _release(reason) {
      this.mode = "clear";
      this.heldTurn = null;
      return { kind: "release", reason };
    }
  }
  g.DuckPolicy = DuckPolicy;

  /* ---- the onset worklet (runs on the audio thread) ------------------------------------ */
  const WORKLET = `
class GoogliveDuckOnset extends AudioWorkletProcessor {
  constructor() {
    super();
    this.floor = -70; this.refHold = -120; this.extra = 0; this.hist = [];
    this.armed = true; this.quiet = 0; this.seen = 0;
    this.port.onmessage = (e) => {
      if (e.data && typeof e.data.extraMarginDb === "number") this.extra = e.data.extraMarginDb;
    };
  }
  static db(ch) {
    if (!ch || !ch.length) return -120;
    let s = 0;
    for (let i = 0; i < ch.length; i++) s += ch[i] * ch[i];
    return 10 * Math.log10(s / ch.length + 1e-12);
  }
  process(inputs) {
    const mic = inputs[0] && inputs[0][0], ref = inputs[1] && inputs[1][0];
    const dt = (mic ? mic.length : 128) / sampleRate;
    const db = GoogliveDuckOnset.db(mic);
    this.refHold = Math.max(GoogliveDuckOnset.db(ref), this.refHold - 50 * dt);
    this.seen += dt;
    const thr = Math.max(this.floor + 12, -45, this.refHold - 15 + this.extra);
    this.hist.push([db, currentTime]);
    if (this.hist.length > 4) this.hist.shift();
    if (this.armed) {
      if (db < this.floor) this.floor += 0.3 * (db - this.floor);
      else this.floor += Math.min(db - this.floor, 5 * dt);
      const loud = this.hist.filter((h) => h[0] > thr);
      if (this.seen > 0.2 && loud.length >= 3) {
        this.armed = false;
        this.quiet = 0;
        this.port.postMessage({ type: "onset", t: loud[0][1], tDetect: currentTime + dt,
          db, refDb: this.refHold, thr });
      }
    } else {
      this.quiet = db < thr - 6 ? this.quiet + dt : 0;
      if (this.quiet >= 0.15) {
        this.armed = true;
        this.port.postMessage({ type: "end", t: currentTime + dt - this.quiet });
      }
    }
    return true;
  }
}
registerProcessor("googlive-duck-onset", GoogliveDuckOnset);
`;

  /* ---- the page glue ------------------------------------------------------------------- */
  if (typeof window.RTCPeerConnection !== "function" || typeof window.AudioContext !== "function")
    return; // not a browser with WebRTC + Web Audio (e.g. the Node unit test)

  const policy = new DuckPolicy();
  const duck = {
    policy,
    events: [],
    pc: null,
    micTrack: null,
    remoteTrack: null,
    channel: null,
    context: null,
    node: null,
    error: null,
    rttMs: null,
    mutedByUs: false,
    DuckPolicy,
  };
  Object.defineProperty(duck, "enabled", {
    get: () => policy.enabled,
    set: (on) => {
      record(policy.setEnabled(on));
      apply();
    },
  });
  g.duck = duck;
  if (/[?&]duck=0(&|$)/.test(location.search)) policy.enabled = false;

  const channels = new WeakMap(); // pc -> its data channel
  let sources = { mic: null, remote: null };
  let timer = null;

  function record(ev, extra) {
    if (!ev) return;
    const e = { t: performance.now(), ctxTime: duck.context ? duck.context.currentTime : null, ...ev, ...extra };
    duck.events.push(e);
    if (duck.events.length > 500) duck.events.splice(0, duck.events.length - 500);
  }

  function apply() {
    const track = duck.remoteTrack;
    if (!track) return;
    if (policy.ducked && track.enabled) {
      track.enabled = false;
      duck.mutedByUs = true;
    } else if (!policy.ducked && duck.mutedByUs) {
      track.enabled = true; // only undo our own mute, never someone else's
      duck.mutedByUs = false;
    }
  }

  function onWorklet(d) {
    if (!d || typeof d.type !== "string") return;
    const now = performance.now();
    if (d.type === "onset") {
      record({ kind: "onset", at: d.t, detectAt: d.tDetect, db: d.db, refDb: d.refDb });
      record(policy.onset(now, d.refDb));
      apply();
    } else if (d.type === "end") {
      record({ kind: "sound_end", at: d.t });
    }
  }

  function onMessage(e) {
    if (typeof e.data !== "string" || e.data.charAt(0) !== "{") return;
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    if (!msg || msg.type !== "googlive_playback") return;
    record({ kind: "server", state: msg.state, turn: msg.turn, seq: msg.seq });
    record(policy.message(msg, performance.now()), { turn: msg.turn });
    apply();
  }

  function watchChannel(pc, ch) {
    if (!ch || channels.get(pc) === ch) return;
    channels.set(pc, ch);
    ch.addEventListener("message", onMessage); // beside FastRTC's own onmessage
    if (pc === duck.pc) duck.channel = ch;
  }

  function source(track) {
    return duck.context.createMediaStreamSource(new MediaStream([track]));
  }

  function connect() {
    if (!duck.node) return;
    for (const [key, input] of [["mic", 0], ["remote", 1]]) {
      const track = key === "mic" ? duck.micTrack : duck.remoteTrack;
      const cur = sources[key];
      if (cur && cur.track === track) continue;
      if (cur) cur.node.disconnect();
      sources[key] = null;
      if (track) {
        const node = source(track);
        node.connect(duck.node, 0, input);
        sources[key] = { track, node };
      }
    }
  }

  function ensureGraph() {
    if (duck.context) {
      if (duck.context.state === "suspended") duck.context.resume().catch(() => {});
      return;
    }
    const ctx = new AudioContext({ latencyHint: "interactive" });
    duck.context = ctx;
    const resume = () => {
      if (ctx.state === "suspended") ctx.resume().catch(() => {});
    };
    for (const ev of ["pointerdown", "keydown"]) window.addEventListener(ev, resume, true);
    resume();
    const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
    ctx.audioWorklet
      .addModule(url)
      .then(() => {
        const node = new AudioWorkletNode(ctx, "googlive-duck-onset", {
          numberOfInputs: 2,
          numberOfOutputs: 1,
          outputChannelCount: [1],
          channelCount: 1,
          channelCountMode: "explicit",
        });
        node.port.onmessage = (e) => onWorklet(e.data);
        node.connect(ctx.destination); // it outputs silence; connected so it is always pulled
        duck.node = node;
        node.port.postMessage({ extraMarginDb: policy.extraMarginDb });
        connect();
      })
      .catch((err) => {
        duck.error = `worklet: ${err && err.name ? err.name : err}`;
        console.warn("googlive duck: no mic onset detection", err);
      })
      .finally(() => URL.revokeObjectURL(url));
  }

  function audioTrack(list) {
    const x = list.find((s) => s.track && s.track.kind === "audio" && s.track.readyState === "live");
    return x ? x.track : null;
  }

  /** Follow the current connection's mic and model tracks (they can be replaced). */
  function reconcile() {
    const pc = duck.pc;
    if (!pc || pc.connectionState === "closed" || pc.connectionState === "failed") {
      if (pc) reset();
      return;
    }
    const mic = audioTrack(pc.getSenders());
    const remote = audioTrack(pc.getReceivers());
    if (remote !== duck.remoteTrack) {
      if (duck.remoteTrack && duck.mutedByUs) duck.remoteTrack.enabled = true;
      duck.mutedByUs = false;
      duck.remoteTrack = remote;
      apply();
    }
    duck.micTrack = mic;
    duck.channel = channels.get(pc) || null;
    if (mic || remote) ensureGraph();
    connect();
    const before = policy.extraMarginDb;
    record(policy.tick(performance.now()));
    apply();
    if (duck.node && policy.extraMarginDb !== before)
      duck.node.port.postMessage({ extraMarginDb: policy.extraMarginDb });
  }

  async function measureRtt() {
    const pc = duck.pc;
    if (!pc || pc.connectionState !== "connected") return;
    try {
      const stats = await pc.getStats();
      stats.forEach((r) => {
        if (r.type === "candidate-pair" && r.nominated && typeof r.currentRoundTripTime === "number")
          duck.rttMs = 1000 * r.currentRoundTripTime;
      });
    } catch {
      return;
    }
    if (duck.rttMs !== null) policy.setRtt(duck.rttMs);
  }

  function reset() {
    if (duck.remoteTrack && duck.mutedByUs) duck.remoteTrack.enabled = true;
    record(policy.mode !== "clear" ? policy._release("closed") : null);
    Object.assign(duck, { pc: null, micTrack: null, remoteTrack: null, channel: null, mutedByUs: false });
    policy.server = { state: "idle", turn: null, seq: 0 };
    connect();
    if (timer) clearInterval(timer);
    timer = null;
    // no call: let the audio device go (resumed by the next call's tracks)
    if (duck.context && duck.context.state === "running") duck.context.suspend().catch(() => {});
  }

  function use(pc) {
    if (duck.pc !== pc) {
      if (duck.pc) reset();
      duck.pc = pc;
      let n = 0;
      timer = setInterval(() => {
        reconcile();
        if (n++ % 20 === 0) measureRtt();
      }, 100);
    }
    reconcile();
  }

  function attach(pc) {
    const prevChannel = pc.createDataChannel;
    pc.createDataChannel = function (...args) {
      const ch = prevChannel.apply(this, args);
      watchChannel(pc, ch);
      return ch;
    };
    pc.addEventListener("datachannel", (e) => watchChannel(pc, e.channel));
    const prevAdd = pc.addTrack;
    pc.addTrack = function (track, ...streams) {
      const sender = prevAdd.call(this, track, ...streams);
      if (track && track.kind === "audio") use(pc);
      return sender;
    };
    pc.addEventListener("track", (e) => {
      if (e.track && e.track.kind === "audio") use(pc);
    });
  }

  duck.status = () => {
    const pc = duck.pc;
    const live = (t) => !!t && t.readyState === "live";
    return {
      pc: !!pc && pc.connectionState !== "closed",
      connection: pc ? pc.connectionState : null,
      mic: live(duck.micTrack),
      remote: live(duck.remoteTrack),
      channel: !!duck.channel && duck.channel.readyState === "open",
      worklet: !!duck.node,
      context: duck.context ? duck.context.state : null,
      enabled: policy.enabled,
      ducked: policy.ducked,
      mode: policy.mode,
      server: { ...policy.server },
      extraMarginDb: policy.extraMarginDb,
      confirmMs: policy.o.confirmMs,
      rttMs: duck.rttMs,
      error: duck.error,
    };
  };

  g.onPeerConnection = g.onPeerConnection || [];
  g.onPeerConnection.push(attach);
  for (const pc of g.peerConnections || []) attach(pc);
})();
