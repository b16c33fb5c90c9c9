"""Child process for the archive kill test: writes a session, reports progress, waits to be killed.

Usage: python tests/archive_child.py DATA_DIR OWNER MODE
  MODE "loop": append transcript lines forever, printing "ACK <i>" after each append returns.
  MODE "torn": append 20 lines, 5 events and a snapshot, then leave a torn (half-written) line
               at the end of transcript.jsonl, print "READY", and block on stdin.
The first output line is "PATH <session folder>".
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from googlive.features.results.archive import SessionArchive
from googlive.features.results.archive_layout import TRANSCRIPT_FILE


def main() -> None:
    data_dir, owner, mode = sys.argv[1:4]
    archive = SessionArchive.create(data_dir, owner, fsync_every=0)  # no fsync: page cache only
    print(f"PATH {archive.path}", flush=True)
    if mode == "loop":
        for i in itertools.count():
            role = "user" if i % 2 == 0 else "model"
            archive.append_transcript(role, f"line {i}", t_s=i * 0.5, turn=i // 2)
            if i % 10 == 0:
                archive.append_event("state", state="live", seq=i)
            print(f"ACK {i}", flush=True)
    elif mode == "torn":
        for i in range(20):
            archive.append_transcript(
                "user" if i % 2 == 0 else "model", f"line {i}", i * 1.0, i // 2
            )
        for i in range(5):
            archive.append_event("tool_call", name="take_picture", seq=i)
        archive.save_snapshot(
            "s1", b"\xff\xd8\xff\xe0fake-jpeg", {"t_s": 3.0, "description": "a desk"}
        )
        # Simulate a write cut short by the kill: half a JSON line, no newline.
        fd = os.open(archive.path / TRANSCRIPT_FILE, os.O_WRONLY | os.O_APPEND)
        os.write(fd, b'{"role":"user","text":"half a li')
        os.close(fd)
        print("READY", flush=True)
        sys.stdin.readline()  # blocks until the parent kills us
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
