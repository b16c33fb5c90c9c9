"""A session recorded through the handler survives SIGKILL of the whole app process."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import av

from tests.test_recorder import decode_audio, decode_video

CHILD = Path(__file__).with_name("recording_handler_child.py")
READY_S = 5.0
TIMEOUT_S = 40.0


def test_killed_app_leaves_a_recording_that_decodes_to_where_it_was(tmp_path: Path) -> None:
    """Kill -9 the process (handler + simulated browser + local server) 5 s into a session:
    >= 90% of the session time so far decodes, audio and video."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(tmp_path), str(READY_S)], stdout=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], TIMEOUT_S)
        assert ready, "child never reported"
        line = child.stdout.readline().split()
        assert line[:1] == ["READY"], line
        os.kill(child.pid, signal.SIGKILL)  # mid-session, the recorder still writing
        session_s, path = float(line[1]), Path(line[2])
    finally:
        child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert path.is_relative_to(tmp_path / "recordings")
    with av.open(str(path)) as c:
        assert [s.type for s in c.streams] == ["audio", "video"]
    y = decode_audio(path)  # raises if what was left is not cleanly decodable
    frames = decode_video(path)
    audio_s, video_s = y.size / 48000, frames[-1][0] + 1 / 15
    print(
        f"killed at session time {session_s:.3f} s: decoded audio {audio_s:.3f} s "
        f"({audio_s / session_s:.0%}), video {video_s:.3f} s ({video_s / session_s:.0%})"
    )
    assert audio_s >= 0.9 * session_s, (audio_s, session_s)
    assert video_s >= 0.9 * session_s, (video_s, session_s)
    # the content is there to the end: loud 1 kHz beeps in the audio, white flashes in the video
    assert sum(1 for t, luma, _ in frames if luma > 128) >= int(0.9 * session_s) - 1
