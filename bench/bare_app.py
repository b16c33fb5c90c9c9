"""Baseline for startup_s: a bare Gradio + fastrtc WebRTC echo app (python -m bench.bare_app PORT)."""

from __future__ import annotations

import sys

import gradio as gr
from fastrtc import StreamHandler, WebRTC


class Echo(StreamHandler):
    def receive(self, frame):  # type: ignore[no-untyped-def]
        self.last = frame

    def emit(self):  # type: ignore[no-untyped-def]
        return getattr(self, "last", None)

    def copy(self) -> Echo:
        return Echo()


def main() -> None:
    port = int(sys.argv[1])
    with gr.Blocks() as demo:
        rtc = WebRTC(modality="audio", mode="send-receive", rtc_configuration={"iceServers": []})
        rtc.stream(fn=Echo(), inputs=[rtc], outputs=[rtc], time_limit=60)
    demo.queue().launch(server_name="127.0.0.1", server_port=port, show_api=False)


if __name__ == "__main__":
    main()
