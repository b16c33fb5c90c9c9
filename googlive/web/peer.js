/* googlive page hook: every RTCPeerConnection the page creates, handed to whoever asks.
 *
 * FastRTC's page code (fastrtc 0.0.34 templates/component/index-*.js) creates its
 * RTCPeerConnection inside the component and never exposes it. This file wraps the
 * constructor once, chain-safely, and keeps a tiny registry on `window.googlive`:
 *
 *   window.googlive = window.googlive || {};
 *   (googlive.onPeerConnection ||= []).push((pc) => { ... });   // called for each new pc
 *   googlive.peerConnections                                     // the pcs created so far
 *
 * A callback runs synchronously right after the constructor, before FastRTC calls
 * createDataChannel / addTrack on the pc, so it can wrap those instance methods or listen for
 * "track" (duck.js does). A callback registered late should also look at
 * `googlive.peerConnections`. Callbacks must not throw (a throw is logged and skipped).
 *
 * The wrapper is a Proxy of whatever `window.RTCPeerConnection` was before (the browser's, or
 * another wrapper: a test spy), so `instanceof`, the prototype and static methods are
 * unchanged, and a later wrapper chains onto this one. Installing twice is a no-op.
 */
(() => {
  "use strict";
  const g = (window.googlive = window.googlive || {});
  g.onPeerConnection = g.onPeerConnection || [];
  g.peerConnections = g.peerConnections || [];
  if (g.peerHookInstalled || typeof window.RTCPeerConnection !== "function") return;
  const Prev = window.RTCPeerConnection;
  window.RTCPeerConnection = new Proxy(Prev, {
    construct(target, args, newTarget) {
      const pc = Reflect.construct(target, args, newTarget);
      // forget closed connections (close() fires no event), so a long page keeps few
      const open = g.peerConnections.filter((p) => p.connectionState !== "closed");
      g.peerConnections.length = 0;
      g.peerConnections.push(...open, pc);
      for (const fn of g.onPeerConnection.slice()) {
        try {
          fn(pc);
        } catch (err) {
          console.warn("googlive: an onPeerConnection callback failed", err);
        }
      }
      return pc;
    },
  });
  g.peerHookInstalled = true;
})();
