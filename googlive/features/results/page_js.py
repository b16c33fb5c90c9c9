"""Browser-side helpers of the Results and Past sessions tabs (JavaScript strings).

Gradio has no poster for gr.Video and no tools on a rendered Mermaid diagram, so a small script
installed once at page load (`INSTALL`) adds them:

- the recording's poster: `SHOW_RESULTS` stores the URL of the hidden poster image
  (`#results-poster`, a gr.Image whose file gradio serves) and the script puts it on the
  player's <video>, again whenever gradio replaces the element;
- per rendered diagram in `#results-diagrams`: "Open large" (a modal <dialog>, Esc or Close
  returns focus to the button) and "Download SVG" (the SVG the browser rendered, as a file).

`TIME_ZONE` reads the browser's IANA time zone for the Past sessions times. Nothing here puts
model or user text into HTML: the diagram SVG is the one mermaid already rendered in the page,
cloned as a node, and names of downloads are built from numbers only.
"""

TIME_ZONE = "() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; } }"

# After End session / Open results: the poster, and focus to the Results heading (the button
# pressed is on a tab that is now hidden, so focus would fall to the page body).
# (A js-only event does not trigger a `.then` of its own, so this is one function.)
SHOW_RESULTS = """(p) => {
  window.__glPoster = (p && p.url) ? p.url : '';
  if (window.__glApply) window.__glApply();
  setTimeout(() => {
    const h = document.querySelector('#results-header h2');
    if (h) { h.setAttribute('tabindex', '-1'); h.focus(); }
  }, 60);
  return [];
}"""

INSTALL = """() => {
  if (window.__glResultsJs) return [];
  window.__glResultsJs = true;
  const applyPoster = () => {
    const v = document.querySelector('#results-video video');
    if (!v || window.__glPoster === undefined) return;
    if (window.__glPoster) { if (v.getAttribute('poster') !== window.__glPoster) v.setAttribute('poster', window.__glPoster); }
    else if (v.hasAttribute('poster')) v.removeAttribute('poster');
  };
  let dialog = null, opener = null;
  const openLarge = (svg, btn) => {
    if (!dialog) {
      dialog = document.createElement('dialog');
      dialog.id = 'gl-diagram-dialog';
      dialog.setAttribute('aria-label', 'Diagram, large');
      const close = document.createElement('button');
      close.type = 'button'; close.textContent = 'Close'; close.className = 'gl-dlg-close';
      close.addEventListener('click', () => dialog.close());
      const body = document.createElement('div'); body.className = 'gl-dlg-body';
      body.tabIndex = 0; body.setAttribute('role', 'region'); body.setAttribute('aria-label', 'Diagram');
      dialog.append(close, body);
      dialog.addEventListener('close', () => { if (opener) opener.focus(); });
      document.body.append(dialog);
    }
    const body = dialog.querySelector('.gl-dlg-body');
    body.replaceChildren(svg.cloneNode(true));
    const big = body.querySelector('svg');
    big.removeAttribute('height'); big.style.maxWidth = 'none'; big.style.width = '100%'; big.style.height = 'auto';
    opener = btn;
    dialog.showModal();
    dialog.querySelector('.gl-dlg-close').focus();
  };
  const download = (svg, n) => {
    const copy = svg.cloneNode(true);
    copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
    const blob = new Blob(['<?xml version="1.0" encoding="UTF-8"?>\\n' + new XMLSerializer().serializeToString(copy)],
                          {type: 'image/svg+xml'});
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob); a.download = 'diagram-' + n + '.svg';
    document.body.append(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  };
  const decorate = () => {
    const root = document.querySelector('#results-diagrams');
    if (!root) return;
    root.querySelectorAll('.mermaid').forEach((box, i) => {
      const svg = box.querySelector('svg');
      if (!svg || box.dataset.glTools === svg.id + '|' + i) return;
      box.dataset.glTools = svg.id + '|' + i;
      const old = box.previousElementSibling;
      if (old && old.classList.contains('gl-dia-tools')) old.remove();
      const bar = document.createElement('div'); bar.className = 'gl-dia-tools';
      bar.setAttribute('role', 'group'); bar.setAttribute('aria-label', 'Diagram ' + (i + 1));
      const mk = (text, fn) => { const b = document.createElement('button'); b.type = 'button'; b.textContent = text;
        b.className = 'gl-dia-btn'; b.addEventListener('click', () => fn(b)); bar.append(b); return b; };
      mk('Open large', (b) => openLarge(box.querySelector('svg'), b)).dataset.action = 'open';
      mk('Download SVG', () => download(box.querySelector('svg'), i + 1)).dataset.action = 'download';
      box.before(bar);
    });
  };
  window.__glApply = () => { applyPoster(); decorate(); };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return; queued = true;
    requestAnimationFrame(() => { queued = false; window.__glApply(); });
  }).observe(document.body, {subtree: true, childList: true});
  return [];
}"""

CSS = """
#results-snapshots .grid-wrap { height: auto !important; min-height: 0 !important; max-height: 660px;
  overflow-y: auto; }
#results-snapshots .grid-container { grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)) !important;
  grid-template-rows: none !important; grid-auto-rows: auto !important; }
#results-snapshots .gallery-item { height: auto; }
#results-snapshots .grid-container .thumbnail-item { aspect-ratio: auto !important; height: auto !important; display: flex;
  flex-direction: column; align-items: stretch; }
#results-snapshots .grid-container .thumbnail-item > img { height: 158px !important; width: 100%; object-fit: contain;
  background: #202124; }
#results-snapshots .grid-container .caption-label { position: static !important; max-width: none;
  white-space: normal; text-overflow: clip; border: 0; border-radius: 0; opacity: 1 !important;
  color: #202124; background: transparent; font-size: 0.85em; padding: 6px 8px; }
.gl-dia-tools { display: flex; gap: 8px; margin: 4px 0; }
.gl-dia-btn, .gl-dlg-close { font: inherit; font-size: 0.9em; padding: 4px 10px; border-radius: 6px;
  border: 1px solid #5f6368; background: #fff; color: #202124; cursor: pointer; }
.gl-dia-btn:hover, .gl-dlg-close:hover { background: #f1f3f4; }
#gl-diagram-dialog { width: min(1200px, 95vw); max-height: 92vh; padding: 12px; border: 0; border-radius: 10px; }
#gl-diagram-dialog::backdrop { background: rgba(0, 0, 0, 0.6); }
#gl-diagram-dialog .gl-dlg-body { overflow: auto; max-height: calc(92vh - 70px); background: #fff; }
#gl-diagram-dialog .gl-dlg-close { float: right; margin-bottom: 8px; }
"""
