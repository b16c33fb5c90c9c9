"""Keyboard and screen-reader fixes for the page that Gradio 5.50's components leave open.

Checked with Chromium's accessibility tree and axe-core (tests/e2e/test_a11y_browser.py: zero
serious or critical violations on every tab). `CSS` goes into the page's stylesheet, `JS` runs
once at page load (`demo.load(None, js=JS)`) and keeps its fixes applied with one debounced
MutationObserver, because Gradio re-renders components:

- Gradio draws every tab button twice; the copy it uses to measure overflow is invisible but
  focusable (the first Tab presses landed there): it is taken out of the tab order (`inert`).
- A visible focus ring on everything focusable (Gradio removes outlines).
- Contrast of at least 4.5:1 for hint, info and placeholder text, the footer, and the text on
  primary (orange) and stop (red) buttons, whose stock colours give 2.8:1 and 3.8:1.
- Live regions: the status line (`role=status`) and the transcript (`role=log`) are announced
  politely; the live regions are the persistent component wrappers, so an update that
  replaces their HTML is still announced.
- Icon buttons Gradio leaves unnamed (gr.Code's copy and download) get names; gr.Gallery's
  full-size view, a <button> holding buttons, becomes a group.
- "Click to Access Webcam" disappears when pressed, which dropped focus to the page body: focus
  moves on to the Start conversation button once it appears. (Why a camera or microphone did
  not open is said by googlive/web/call.js in `#call-notice`, a polite live region, and the
  call goes on without that device.)
"""

CSS = """
.gradio-container {
  --body-text-color-subdued: #5f6368;
  --block-info-text-color: #5f6368;
  --input-placeholder-color: #6b6f76;
  --button-primary-background-fill: #c2410c;
  --button-primary-background-fill-hover: #9a3412;
  --button-primary-text-color: #ffffff;
  --button-primary-border-color: #c2410c;
  --button-cancel-background-fill: #c5221f;
  --button-cancel-background-fill-hover: #a50e0e;
  --button-cancel-text-color: #ffffff;
  --button-cancel-border-color: #c5221f;
}
.dark .gradio-container {
  --body-text-color-subdued: #b0b4ba;
  --block-info-text-color: #b0b4ba;
  --input-placeholder-color: #a8acb3;
}
.gradio-container :focus-visible,
.gradio-container button:focus-visible,
.gradio-container input:focus-visible,
.gradio-container textarea:focus-visible,
#gl-diagram-dialog :focus-visible {
  outline: 3px solid #1a73e8 !important;
  outline-offset: 2px !important;
  box-shadow: 0 0 0 5px rgba(26, 115, 232, 0.25) !important;
}
.gradio-container label:focus-within { outline: 2px solid #1a73e8; outline-offset: 2px; }
footer a, footer button { color: #5f6368 !important; }
.dark footer a, .dark footer button { color: #b0b4ba !important; }
"""

JS = """() => {
  if (window.__glA11y) return [];
  window.__glA11y = true;
  const live = (sel, role) => {
    const el = document.querySelector(sel);
    if (el && el.getAttribute('aria-live') !== 'polite') {
      el.setAttribute('role', role); el.setAttribute('aria-live', 'polite');
      if (role === 'log') el.setAttribute('aria-label', 'Transcript');
    }
  };
  const name = (btn, label) => { if (!btn.getAttribute('aria-label')) { btn.setAttribute('aria-label', label); btn.title = label; } };
  const fix = () => {
    document.querySelectorAll('.tab-container.visually-hidden').forEach(bar => {
      if (!bar.inert) bar.inert = true;
      bar.querySelectorAll('button').forEach(b => { if (b.tabIndex !== -1) b.tabIndex = -1; });
    });
    // gr.Gallery's full-size view is a <button> holding buttons (nested interactive controls).
    document.querySelectorAll('.gradio-container button.preview').forEach(p => {
      if (p.getAttribute('role') !== 'group') { p.setAttribute('role', 'group'); p.setAttribute('aria-label', 'Full-size view'); p.tabIndex = -1; }
    });
    live('#status', 'status');
    live('#transcript', 'log');
    live('#past-status', 'status');
    document.querySelectorAll('.gradio-container a.download-link').forEach(a => {
      const box = a.closest('[id]');
      const what = box && box.id === 'results-diagram-source' ? 'Download diagram source' : 'Download';
      if (!a.getAttribute('aria-label')) a.setAttribute('aria-label', what);
      a.querySelectorAll('button').forEach(b => { b.tabIndex = -1; b.setAttribute('aria-hidden', 'true'); });
      if (box && box.id === 'results-diagram-source' && a.getAttribute('download') === 'file.txt') a.setAttribute('download', 'diagram.mmd');
    });
    document.querySelectorAll('.gradio-container button.icon-button').forEach(b => {
      if (b.getAttribute('aria-label') || b.closest('a.download-link')) return;
      const block = b.closest('.block');  // in a gr.Code, the unnamed icon button is Copy
      if (!block || !block.querySelector('.cm-editor')) return;
      name(b, block.id === 'results-diagram-source' ? 'Copy diagram source' : 'Copy');
    });
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return; queued = true;
    requestAnimationFrame(() => { queued = false; fix(); });
  }).observe(document.body, {subtree: true, childList: true});
  fix();
  // "Click to Access Webcam" goes away when pressed: move focus to the Start conversation button.
  document.addEventListener('click', (ev) => {
    const btn = ev.target.closest && ev.target.closest('#webrtc button');
    if (!btn || !/Access Webcam/i.test(btn.textContent || '')) return;
    const started = performance.now();
    const wait = () => {
      const rec = document.querySelector('#webrtc button[aria-label="start stream"]');
      if (rec && rec.offsetParent !== null) { rec.focus(); return; }
      if (performance.now() - started < 6000) setTimeout(wait, 100);
    };
    setTimeout(wait, 100);
  }, true);
  return [];
}"""
