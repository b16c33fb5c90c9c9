"""The LiveSession outbox: order, bounds, and a still that stays the newest image."""

from __future__ import annotations

from googlive.live.outbox import Outbox


def kinds(box: Outbox) -> list[str]:
    return [i.kind for i in box.items]


def test_audio_keeps_the_newest_bytes_and_counts_what_it_drops():
    box = Outbox(max_audio_bytes=100)
    box.other("text", "hi", 0.0)
    for k in range(5):
        box.audio(bytes([k]) * 40, 0.0)
    assert box.audio_bytes == 80 and box.audio_dropped_bytes == 120
    assert kinds(box) == ["text", "audio", "audio"]
    assert [i.payload[0] for i in box.items if i.kind == "audio"] == [3, 4]


def test_only_the_newest_video_frame_waits():
    box = Outbox(max_audio_bytes=100)
    box.video(b"1", 0.0)
    box.other("text", "t", 0.0)
    box.video(b"2", 0.1)
    assert kinds(box) == ["text", "video"] and box.items[-1].payload == b"2"
    assert box.video_dropped == 1


def test_a_stream_frame_waits_behind_the_answer_that_follows_a_still():
    """still -> (stream frames) -> tool answer: the frames go after the answer, newest only."""
    box = Outbox(max_audio_bytes=100, still_hold_s=3.0)
    box.still(b"S", 10.0)
    box.video(b"v1", 10.5)
    box.video(b"v2", 11.0)
    box.audio(b"a", 11.0)
    box.tool("answer", 11.2)
    assert kinds(box) == ["image", "audio", "tool", "video"]
    assert box.items[-1].payload == b"v2" and box.video_dropped == 1


def test_the_hold_ends_without_an_answer_after_its_time():
    box = Outbox(max_audio_bytes=100, still_hold_s=1.0)
    box.still(b"S", 0.0)
    box.video(b"v1", 0.5)
    assert kinds(box) == ["image"]
    box.video(b"v2", 1.5)  # the answer never came: stream frames flow again, newest only
    assert kinds(box) == ["image", "video"] and box.items[-1].payload == b"v2"


def test_pop_removes_only_the_written_head():
    box = Outbox(max_audio_bytes=100)
    box.audio(b"ab", 0.0)
    head = box.head()
    box.other("text", "t", 0.0)
    assert box.pop(head) and box.audio_bytes == 0
    assert not box.pop(head)  # already gone: nothing else is removed
    assert kinds(box) == ["text"]
