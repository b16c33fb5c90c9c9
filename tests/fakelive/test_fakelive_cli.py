"""``python -m googlive.fakelive`` as a newcomer would use it, in real subprocesses."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from .helpers import T

ROOT = Path(__file__).resolve().parents[2]

NEWCOMER_SCRIPT = """
import asyncio, json, ssl, sys
from google import genai
from google.genai import types

info = json.loads(sys.argv[1])

async def main():
    client = genai.Client(
        api_key=info["api_key"],
        http_options=types.HttpOptions(
            base_url=info["url"],
            api_version="v1beta",
            async_client_args={"ssl": ssl.create_default_context(cafile=info["ca_cert"])},
        ),
    )
    config = {"response_modalities": ["AUDIO"], "output_audio_transcription": {}}
    async with client.aio.live.connect(model="gemini-3.8-live", config=config) as session:
        print("setup complete:", session.setup_complete is not None)
        await session.send_client_content(turns={"role": "user", "parts": [{"text": "Hello"}]})
        audio, text = 0, ""
        async for msg in session.receive():
            if msg.data:
                audio += len(msg.data)
            sc = msg.server_content
            if sc and sc.output_transcription and sc.output_transcription.text:
                text += sc.output_transcription.text
        print("audio bytes:", audio)
        print("transcript:", text)

asyncio.run(main())
"""


async def test_cli_prints_one_line_serves_a_plain_sdk_script_and_exits_on_sigterm(
    tmp_path: Path,
) -> None:
    """One JSON line on stdout; a plain SDK script gets setupComplete and a reply; SIGTERM -> 0."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "googlive.fakelive",
        "--port",
        "0",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(20 * T):
            line = await proc.stdout.readline()
        info = json.loads(line)
        assert set(info) == {"url", "ca_cert", "api_key"} and info["url"].startswith(
            "https://127.0.0.1:"
        )
        assert (
            Path(info["ca_cert"]).is_absolute()
            and await asyncio.to_thread(Path(info["ca_cert"]).exists)
            and len(info["api_key"]) >= 16
        )

        script = tmp_path / "hello_live.py"
        script.write_text(NEWCOMER_SCRIPT)
        client = await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            line.decode(),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(30 * T):
            out, err = await client.communicate()
        assert client.returncode == 0, err.decode()[-2000:]
        text = out.decode()
        assert (
            "setup complete: True" in text
            and "transcript: Offline demo, turn 1: you said: Hello" in text
        )
        assert int(text.split("audio bytes:")[1].split()[0]) > 24000 * 2

        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15 * T):
            rest, logs = await proc.communicate()
        assert proc.returncode == 0, logs.decode()[-2000:]
        assert rest == b""  # exactly one line in total on stdout
        assert info["api_key"] not in logs.decode() and "Hello" not in logs.decode()
        assert not await asyncio.to_thread(
            Path(info["ca_cert"]).exists
        )  # temp TLS files are removed on exit
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
