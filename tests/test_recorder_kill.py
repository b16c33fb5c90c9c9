"""A recording survives SIGKILL: what was written before the kill decodes."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import av
import numpy as np

from tests.test_recorder import R, decode_audio, decode_video, envelope, onsets

CHILD = Path(__file__).with_name("recorder_child.py")
READY_S = 5.0
TIMEOUT_S = 30.0


def test_a_killed_recording_decodes_up_to_where_it_was(tmp_path: Path) -> None:
    """Kill -9 the recording process mid-session: >= 90% of the timeline reported as fed
    decodes, audio and video, with every beep where it belongs."""
    out = tmp_path / "killed.webm"
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(out), str(READY_S)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], TIMEOUT_S)
        assert ready, "child never reported"
        line = child.stdout.readline().split()
        assert line[:1] == ["READY"], line
        fed_s = float(line[1])
        os.kill(child.pid, signal.SIGKILL)  # the child is still recording
    finally:
        child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL

    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["audio", "video"]
    y = decode_audio(out)  # raises if the tail is not cleanly decodable
    frames = decode_video(out)
    audio_s = y.size / R
    video_s = frames[-1][0] + 1 / 15
    assert audio_s >= 0.9 * fed_s, (audio_s, fed_s)
    assert video_s >= 0.9 * fed_s, (video_s, fed_s)
    # the content is right up to the end: a user beep at k + 0.2 s every second
    user = envelope(y, 1000.0)
    beeps = onsets(user, 0.5 * user.max())
    expected = [k + 0.2 for k in range(int(audio_s - 0.4) + 1)]
    assert np.allclose(beeps[: len(expected)], expected, atol=0.003)
    print(f"fed {fed_s:.3f} s; decoded audio {audio_s:.3f} s, video {video_s:.3f} s")
