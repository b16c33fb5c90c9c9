"""The app's real page (every feature, the app's launch options and CSP) plus one test control
that puts a diagram from the hostile corpus into the real Diagram panel, the way the tools
feature does (`render_diagram_panel` of an accepted Diagram).

    python -m tests.reliability.diagram_app PORT DATA_DIR

The control takes "NAME:gated" (the app's path: the safety gate decides) or "NAME:ungated"
(the gate bypassed, to test what the browser side alone does with the same text: labels as SVG
text, mermaid's sanitiser, the CSP).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import gradio as gr

from googlive import render
from googlive.assemble import assemble
from googlive.config import Secret, Settings
from googlive.features.tools.diagram import Diagram
from googlive.live.backend import Endpoint
from googlive.public.launchopts import SecurityOptions, hide_api, launch_kwargs
from googlive.ui import AppContext, build
from tests.reliability.hostile_diagrams import BENIGN, HOSTILE


def panel_for(request: str) -> str:
    name, _, mode = (request or "").partition(":")
    source = HOSTILE.get(name) or BENIGN.get(name)
    if source is None:
        return "unknown case"
    diagram = Diagram(id=name, source=source, title=f"case {name}", time=time.time(), version=1)
    if mode != "ungated":
        return render.render_diagram_panel([diagram])
    real = render.check_safety
    render.check_safety = lambda _code: []  # type: ignore[assignment]
    try:
        return render.render_diagram_panel([diagram])
    finally:
        render.check_safety = real


def main() -> None:
    port, data_dir = int(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(data_dir=data_dir, no_ice_servers=True, offline=True)
    ctx = AppContext(
        settings,
        Endpoint("https://127.0.0.1:9", None, Secret(None), offline=True),
        rtc_configuration={"iceServers": []},
        server_rtc_configuration={"iceServers": []},
    )
    assemble(ctx)
    demo = build(ctx)
    panel = ctx.extra["build"].panels["diagram"]
    with demo:
        case = gr.Textbox(label="test case", elem_id="test-case")
        show = gr.Button("show", elem_id="test-show")
        show.click(panel_for, [case], [panel])
    hide_api(demo)
    demo.queue(api_open=False).launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=False,
        **launch_kwargs(SecurityOptions(), data_dir),
    )


if __name__ == "__main__":
    main()
