"""Each model family's quirks, driven through the real google-genai SDK over TLS."""

from __future__ import annotations

import asyncio

import pytest
from google.genai import errors, types

from googlive.fakelive import FakeLiveConfig, FakeLiveServer, vision

from .helpers import MODEL, MODEL_25, MODEL_31, T, collect, live_config, send_audio, silence, tone

STILL = vision.marker_jpeg((1280, 720), "red", (5, 3, 1))  # the code reads only at HIGH


def tools(behavior: str | None = None) -> list[types.Tool]:
    """draw_diagram and take_picture, declared with ``behavior`` (None: unset)."""
    extra = {"behavior": behavior} if behavior else {}
    return [
        types.Tool(
            function_declarations=[
                types.FunctionDeclaration(
                    name="draw_diagram",
                    description="Draw a Mermaid diagram",
                    parameters={"type": "object", "properties": {"code": {"type": "string"}}},
                    **extra,
                ),
                types.FunctionDeclaration(
                    name="take_picture",
                    description="Take a picture",
                    parameters={"type": "object", "properties": {"reason": {"type": "string"}}},
                    **extra,
                ),
            ]
        )
    ]


def reply(fc: types.FunctionCall, scheduling: str | None = None) -> types.FunctionResponse:
    extra = {"scheduling": scheduling} if scheduling else {}
    return types.FunctionResponse(id=fc.id, name=fc.name, response={"result": "ok"}, **extra)


async def test_38_non_blocking_call_then_result_when_idle(srv: FakeLiveServer) -> None:
    """3.8: the model talks on after the toolCall and ends its turn; the (unset = WHEN_IDLE)
    response is then spoken once, in its own tool-result turn."""
    async with srv.client().aio.live.connect(model=MODEL, config=live_config(tools=tools())) as s:
        await s.send_realtime_input(text="draw a diagram of the tides")
        first = await collect(s)
        (call,) = first.tool_calls
        assert first.output_text == "Offline demo, turn 1: one moment, I am using draw_diagram."
        assert (
            first.order[0] == "tool_call" and first.turn_complete and not srv.stats.tool_responses
        )
        await s.send_tool_response(function_responses=[reply(call)])
        second = await collect(s)
    assert (
        second.output_text
        == "Offline demo, turn 1 (tool result): The draw_diagram tool answered ok."
    )
    (record,) = srv.stats.tool_results
    assert (record.scheduling, record.blocking, record.delivery, record.spoken) == (
        None,
        False,
        "speak_now",
        True,
    )
    assert record.reply_text == second.output_text
    assert srv.stats.model_turn_texts == [first.output_text, second.output_text]
    assert srv.stats.tool_calls_sent[0]["blocking"] is False


async def test_38_silent_result_is_not_spoken_but_is_in_context(srv: FakeLiveServer) -> None:
    """SILENT: no speech at all; a later answer can refer to the result."""
    async with srv.client().aio.live.connect(model=MODEL, config=live_config(tools=tools())) as s:
        await s.send_realtime_input(text="a diagram please")
        (call,) = (await collect(s)).tool_calls
        await s.send_tool_response(function_responses=[reply(call, "SILENT")])
        await srv.wait_until(lambda: srv.stats.tool_results)
        await s.send_realtime_input(text="what was the result")
        later = await collect(s)
    assert later.output_text == (
        "Offline demo, turn 2: you said: what was the result Results I was given quietly: "
        "The draw_diagram tool answered ok."
    )
    assert srv.stats.tool_results[0].delivery == "silent" and not srv.stats.tool_results[0].spoken
    assert srv.stats.turns_completed == 2


async def _talking_with_pending_call(srv: FakeLiveServer, s) -> types.FunctionCall:
    """Turn 1 issues a non-blocking draw_diagram; turn 2 starts a long reply (returned while
    turn 2 is speaking)."""
    (call,) = (await collect(s)).tool_calls
    await s.send_realtime_input(text="now tell me a long story")
    await srv.wait_until(lambda: srv.stats.reply_chunks_sent > 0 and srv.stats.text_turns == 2)
    return call


async def test_38_interrupt_while_the_model_speaks(srv: FakeLiveServer) -> None:
    """INTERRUPT while the model speaks: interrupted at once, then the result is spoken."""
    srv.config.speed = 3.0
    async with srv.client().aio.live.connect(model=MODEL, config=live_config(tools=tools())) as s:
        await s.send_realtime_input(text="draw a diagram")
        call = await _talking_with_pending_call(srv, s)
        await s.send_tool_response(function_responses=[reply(call, "INTERRUPT")])
        story = await collect(s)
        result = await collect(s)
    assert story.audio_msgs > 0 and story.order[-2:] == ["interrupted", "turn_complete"]
    assert "generation_complete" not in story.order
    assert (
        result.output_text
        == "Offline demo, turn 2 (tool result): The draw_diagram tool answered ok."
    )
    assert srv.stats.tool_results[0].delivery == "interrupt"


async def test_38_when_idle_waits_for_the_turn_to_end(srv: FakeLiveServer) -> None:
    """WHEN_IDLE while the model speaks: the story is not cut; the result follows it."""
    srv.config.speed = 6.0
    async with srv.client().aio.live.connect(model=MODEL, config=live_config(tools=tools())) as s:
        await s.send_realtime_input(text="draw a diagram")
        call = await _talking_with_pending_call(srv, s)
        await s.send_tool_response(function_responses=[reply(call, "WHEN_IDLE")])
        await srv.wait_until(lambda: srv.stats.tool_results)
        assert srv.stats.tool_results[0].delivery == "queued"
        story = await collect(s)
        result = await collect(s)
    # An "interrupted" first is for turn 1's filler, still playing when turn 2 began.
    assert story.generation_complete and "interrupted" not in story.order[1:]
    assert result.output_text.endswith("(tool result): The draw_diagram tool answered ok.")
    assert srv.stats.tool_results[0].spoken


@pytest.mark.parametrize(("model", "waits"), [(MODEL, True), (MODEL_25, False)])
async def test_interrupt_while_the_user_speaks(
    srv: FakeLiveServer, model: str, waits: bool
) -> None:
    """INTERRUPT while the user speaks: 3.8 waits and answers both at once; 2.5 speaks the
    result over the user at once (Vertex migration table)."""
    cfg = live_config(tools=tools("NON_BLOCKING"))
    async with srv.client().aio.live.connect(model=model, config=cfg) as s:
        await s.send_realtime_input(text="draw a diagram")
        (call,) = (await collect(s)).tool_calls
        await send_audio(s, tone(0.5))  # the user is mid-utterance
        await srv.wait_until(lambda: srv.stats.connections[0].audio_bytes >= len(tone(0.5)))
        await s.send_tool_response(function_responses=[reply(call, "INTERRUPT")])
        await srv.wait_until(lambda: srv.stats.tool_results)
        if waits:
            assert srv.stats.tool_results[0].delivery == "queued"
            await send_audio(s, tone(0.5) + silence(0.7))
            answer = await collect(s)
            assert answer.output_text.endswith("Meanwhile: The draw_diagram tool answered ok.")
            assert answer.input_text.startswith("[offline demo heard")
        else:
            assert srv.stats.tool_results[0].delivery == "speak_now"
            result = await collect(s)
            assert result.output_text.endswith("(tool result): The draw_diagram tool answered ok.")
    assert srv.stats.tool_results[0].spoken


async def test_38_declared_blocking_is_synchronous_and_new_input_cancels(
    srv: FakeLiveServer,
) -> None:
    """behavior=BLOCKING on 3.8: the answer waits for the response; new user input cancels."""
    cfg = live_config(tools=tools("BLOCKING"))
    async with srv.client().aio.live.connect(model=MODEL, config=cfg) as s:
        await s.send_realtime_input(text="draw a diagram")

        async def answer(msg: types.LiveServerMessage, turn) -> None:
            if msg.tool_call:
                assert turn.audio_msgs == 0  # nothing is said before the response
                await s.send_tool_response(
                    function_responses=[reply(msg.tool_call.function_calls[0])]
                )

        done = await collect(s, on_message=answer)
        assert "the draw_diagram tool answered ok" in done.output_text
        assert srv.stats.tool_results[0].delivery == "blocking"
        await s.send_realtime_input(text="another diagram")

        async def barge(msg: types.LiveServerMessage, turn) -> None:
            if msg.tool_call:
                await s.send_realtime_input(text="never mind")

        cut = await collect(s, on_message=barge)
    assert cut.cancellations == [cut.tool_calls[0].id] and cut.interrupted


async def test_38_backchannel_does_not_interrupt(srv: FakeLiveServer) -> None:
    """A 0.3 s burst during a 3.8 reply: no interrupted, the reply completes, the input
    transcript shows the backchannel."""
    srv.config.speed = 3.0

    sent: list[bool] = []

    async def mmhm(msg: types.LiveServerMessage, turn) -> None:
        if turn.audio_msgs == 3 and not sent:
            sent.append(True)
            await send_audio(s, tone(0.3) + silence(0.7))

    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        await s.send_realtime_input(text="tell me a long story")
        turn = await collect(s, on_message=mmhm)
    assert turn.generation_complete and not turn.interrupted
    assert "[offline demo heard a 0.3 s backchannel]" in turn.input_text
    assert (srv.stats.backchannels, srv.stats.interrupted_sent, srv.stats.speech_turns) == (1, 0, 0)


async def test_38_long_speech_interrupts_after_the_limit(srv: FakeLiveServer) -> None:
    """Speech going past the backchannel limit interrupts (after the delay) and becomes the
    user's turn."""
    srv.config.speed = 3.0
    srv.config.polite_interrupt_delay_s = 0.2
    loop = asyncio.get_running_loop()
    times: dict[str, float] = {}

    async def talk(msg: types.LiveServerMessage, turn) -> None:
        if turn.audio_msgs == 3 and "sent" not in times:
            times["sent"] = loop.time()
            await send_audio(s, tone(1.2))
        if msg.server_content and msg.server_content.interrupted:
            times["interrupted"] = loop.time()

    async with srv.client().aio.live.connect(model=MODEL, config=live_config()) as s:
        await s.send_realtime_input(text="tell me a long story")
        story = await collect(s, on_message=talk)
        await send_audio(s, silence(0.7))
        answer = await collect(s)
    assert story.interrupted and srv.stats.polite_interruptions == 1
    assert times["interrupted"] - times["sent"] >= 0.2
    assert answer.input_text.startswith("[offline demo heard") and answer.turn_complete
    assert srv.stats.backchannels == 0 and srv.stats.speech_turns == 1


async def test_31_short_speech_interrupts_at_once(srv: FakeLiveServer) -> None:
    """The same 0.3 s burst on 3.1 interrupts immediately."""
    srv.config.speed = 3.0

    async def mmhm(msg: types.LiveServerMessage, turn) -> None:
        if turn.audio_msgs == 3:
            await send_audio(s, tone(0.3))

    async with srv.client().aio.live.connect(model=MODEL_31, config=live_config()) as s:
        await s.send_realtime_input(text="tell me a long story")
        turn = await collect(s, on_message=mmhm)
    assert turn.interrupted and srv.stats.backchannels == 0


async def _picture_turn(
    srv: FakeLiveServer, model: str, cfg: types.LiveConnectConfig, send_still
) -> str:
    """Ask for a picture; on the toolCall run ``send_still(session)`` then respond; return the
    transcript of the turn that speaks about the result."""
    async with srv.client().aio.live.connect(model=model, config=cfg) as s:
        await s.send_realtime_input(text="take a picture please")

        async def on_call(msg: types.LiveServerMessage, turn) -> None:
            if msg.tool_call:
                await send_still(s)
                fc = msg.tool_call.function_calls[0]
                await s.send_tool_response(function_responses=[reply(fc)])

        first = await collect(s, on_message=on_call)
        if "answered ok" in first.output_text:
            return first.output_text  # blocking: the same turn speaks about it
        return (await collect(s)).output_text


async def _as_video(s) -> None:
    await s.send_realtime_input(video=types.Blob(data=STILL, mime_type="image/jpeg"))


async def _as_content_high(s) -> None:
    part = types.Part.from_bytes(
        data=STILL, mime_type="image/jpeg", media_resolution="MEDIA_RESOLUTION_HIGH"
    )
    await s.send_client_content(turns=types.Content(role="user", parts=[part]), turn_complete=False)


async def test_picture_as_video_under_each_coverage(srv: FakeLiveServer) -> None:
    """A still sent as a realtime video frame while the user is silent: seen on 3.8 and 3.1
    (all video in context), left out on 2.5 (activity only) and on 3.8 set to activity only."""
    high = {"media_resolution": "MEDIA_RESOLUTION_HIGH"}
    text = await _picture_turn(srv, MODEL, live_config(tools=tools(), **high), _as_video)
    assert text.endswith("The take_picture tool answered ok. I see red, code 5 3 1.")
    text = await _picture_turn(srv, MODEL_31, live_config(tools=tools(), **high), _as_video)
    assert text == (
        "Offline demo, turn 1: the take_picture tool answered ok. I see red, code 5 3 1. "
        "you said: take a picture please"
    )
    assert srv.stats.video_frames_left_out == 0
    text = await _picture_turn(srv, MODEL_25, live_config(tools=tools(), **high), _as_video)
    assert "answered ok. I received no new image after I asked for the picture." in text
    only = live_config(
        tools=tools(),
        realtime_input_config={"turn_coverage": "TURN_INCLUDES_ONLY_ACTIVITY"},
        **high,
    )
    text = await _picture_turn(srv, MODEL, only, _as_video)
    assert text.endswith("I received no new image after I asked for the picture.")
    assert srv.stats.video_frames_left_out == 2 and srv.stats.connections[3].turn_coverage == (
        "TURN_INCLUDES_ONLY_ACTIVITY"
    )


async def test_picture_detail_follows_media_resolution(srv: FakeLiveServer) -> None:
    """The code reads only at HIGH detail: a LOW session sees the colour only, unless the
    still comes as client content with its own HIGH media resolution (3.8, 2.5)."""
    low = {"media_resolution": "MEDIA_RESOLUTION_LOW"}
    text = await _picture_turn(srv, MODEL, live_config(tools=tools(), **low), _as_video)
    assert text.endswith("I see red, and a code too fine to read at this detail.")
    text = await _picture_turn(srv, MODEL, live_config(tools=tools(), **low), _as_content_high)
    assert text.endswith("I see red, code 5 3 1.")
    text = await _picture_turn(srv, MODEL_25, live_config(tools=tools(), **low), _as_content_high)
    assert "answered ok. I see red, code 5 3 1." in text
    assert [i["resolution"] for i in srv.stats.context_images] == [
        "MEDIA_RESOLUTION_LOW",
        "MEDIA_RESOLUTION_HIGH",
        "MEDIA_RESOLUTION_HIGH",
    ]


async def test_image_tokens_follow_resolution(srv: FakeLiveServer) -> None:
    """Usage bills each image in context once, by the resolution in force for it."""
    cfg = live_config(media_resolution="MEDIA_RESOLUTION_LOW")
    async with srv.client().aio.live.connect(model=MODEL, config=cfg) as s:
        for _ in range(3):
            await s.send_realtime_input(video=types.Blob(data=STILL, mime_type="image/jpeg"))
        await s.send_realtime_input(text="hi")
        turn = await collect(s)
        await s.send_realtime_input(text="hi")
        again = await collect(s)
    image = [d for d in turn.usage.prompt_tokens_details if d.modality == types.MediaModality.IMAGE]
    assert image[0].token_count == 3 * 64
    assert not [d for d in again.usage.prompt_tokens_details or [] if d.modality == "IMAGE"]


@pytest.mark.parametrize(
    ("model", "config"),
    [
        (MODEL, {"proactivity": {"proactive_audio": False}}),
        (MODEL, {"enable_affective_dialog": True}),
        (MODEL, {"thinking_config": {"thinking_level": "LOW"}}),
        (MODEL, {"response_modalities": ["TEXT"]}),
        (MODEL_31, {"enable_affective_dialog": True}),
    ],
)
async def test_setup_the_service_refuses(srv: FakeLiveServer, model: str, config: dict) -> None:
    """Settings a family does not take close the session at setup with 1007."""
    with pytest.raises(errors.APIError) as err:
        async with srv.client().aio.live.connect(model=model, config=live_config(**config)):
            pass
    assert err.value.code == 1007 and err.value.details == "Request contains an invalid argument."
    assert srv.stats.setups_refused == 1


async def test_accepted_per_family_and_shut_down_models(srv: FakeLiveServer) -> None:
    """2.5 takes affective dialog and proactive audio; 3.8 takes proactive audio on; a
    shut-down model is refused exactly like an unknown one."""
    cfg25 = live_config(enable_affective_dialog=True, proactivity={"proactive_audio": True})
    async with srv.client().aio.live.connect(model=MODEL_25, config=cfg25) as s:
        assert s.setup_complete is not None
    cfg38 = live_config(proactivity={"proactive_audio": True})
    async with srv.client().aio.live.connect(model=MODEL, config=cfg38) as s:
        assert s.setup_complete is not None
    assert [c.family for c in srv.stats.connections] == [
        "gemini-2.5-flash-native-audio-preview",
        "gemini-3.8-live",
    ]
    for name in ("gemini-live-2.5-flash-preview", "gemini-2.0-flash-live-001"):
        with pytest.raises(errors.APIError) as err:
            async with srv.client().aio.live.connect(model=name):
                pass
        assert err.value.code == 1008 and str(err.value.details).startswith(
            f"models/{name} is not found for API version v1beta, or is not supported for "
            "bidiGenerateContent."
        )


async def test_31_refuses_mid_session_client_content(srv: FakeLiveServer) -> None:
    """3.1: client content after setup closes with 1007; initial history (historyConfig) is
    taken without a reply, and only until its turn_complete."""
    content = types.Content(role="user", parts=[types.Part(text="hello")])
    async with srv.client().aio.live.connect(model=MODEL_31, config=live_config()) as s:
        await s.send_client_content(turns=content, turn_complete=True)
        with pytest.raises(errors.APIError) as err:
            await collect(s)
    assert err.value.code == 1007 and err.value.details == "Request contains an invalid argument."
    cfg = live_config(history_config={"initial_history_in_client_content": True})
    async with srv.client().aio.live.connect(model=MODEL_31, config=cfg) as s:
        await s.send_client_content(
            turns=[content, types.Content(role="model", parts=[types.Part(text="hi")])],
            turn_complete=True,
        )
        await s.send_realtime_input(text="go on")
        turn = await collect(s)
        assert turn.output_text == "Offline demo, turn 1: you said: go on"
        await s.send_client_content(turns=content, turn_complete=True)
        with pytest.raises(errors.APIError) as err:
            await collect(s)
    assert err.value.code == 1007 and srv.stats.client_content_refused == 2


async def test_turn_complete_before_interrupted(srv: FakeLiveServer) -> None:
    """The knob sends turnComplete first; interrupted follows in the next receive()."""
    srv.config.speed = 3.0
    srv.config.turn_complete_before_interrupted = True

    async def barge(msg: types.LiveServerMessage, turn) -> None:
        if turn.audio_msgs == 3:
            await send_audio(s, tone(0.3))

    async with srv.client().aio.live.connect(model=MODEL_31, config=live_config()) as s:
        await s.send_realtime_input(text="tell me a long story")
        cut = await collect(s, on_message=barge)
        async with asyncio.timeout(5 * T):
            msg = await anext(aiter(s.receive()))
    assert cut.turn_complete and not cut.interrupted and "generation_complete" not in cut.order
    assert msg.server_content.interrupted


async def test_usage_on_empty_server_content_with_detail_counts(srv: FakeLiveServer) -> None:
    """Usage arrives in its own message (empty serverContent) after turnComplete, with
    thoughts and tool-use prompt counts; the total is the sum of all four."""
    srv.config.usage_on_empty_server_content = True
    srv.config.usage_detail_counts = True
    async with srv.client().aio.live.connect(
        model=MODEL_31, config=live_config(tools=tools())
    ) as s:
        await s.send_realtime_input(text="draw a diagram")

        async def answer(msg: types.LiveServerMessage, turn) -> None:
            if msg.tool_call:
                await s.send_tool_response(
                    function_responses=[reply(msg.tool_call.function_calls[0])]
                )

        turn = await collect(s, on_message=answer)
        async with asyncio.timeout(5 * T):
            msg = await anext(aiter(s.receive()))
    assert turn.turn_complete and turn.usage is None
    usage = msg.usage_metadata
    assert msg.server_content is not None and not msg.server_content.turn_complete
    assert usage.thoughts_token_count > 0 and usage.tool_use_prompt_token_count > 0
    assert usage.total_token_count == (
        usage.prompt_token_count
        + usage.response_token_count
        + usage.thoughts_token_count
        + usage.tool_use_prompt_token_count
    )
    assert srv.stats.tool_use_prompt_tokens_sent == usage.tool_use_prompt_token_count


@pytest.mark.parametrize("answer_stale", [False, True])
async def test_1008_on_tool_call_then_resume(srv: FakeLiveServer, answer_stale: bool) -> None:
    """close_1008_on_tool_call: the real reason right after the toolCall; resuming works; the
    response to the old call is ignored (as the service does) unless answer_stale_tool_responses,
    and the result can always be given as conversation."""
    srv.config.close_1008_on_tool_call = 1
    srv.config.answer_stale_tool_responses = answer_stale
    client = srv.client()
    cfg = live_config(tools=tools(), session_resumption={})
    async with client.aio.live.connect(model=MODEL, config=cfg) as s:
        await s.send_realtime_input(text="draw a diagram")
        calls: list[types.FunctionCall] = []
        handles: list[str] = []

        async def note(msg: types.LiveServerMessage, turn) -> None:
            if msg.session_resumption_update and msg.session_resumption_update.new_handle:
                handles.append(msg.session_resumption_update.new_handle)
            if msg.tool_call:
                calls.extend(msg.tool_call.function_calls)

        with pytest.raises(errors.APIError) as err:
            await collect(s, on_message=note)
    assert err.value.code == 1008
    assert err.value.details == "Operation is not implemented, or supported, or enabled."
    assert srv.config.close_1008_on_tool_call is None and srv.stats.closes_1008_injected == 1
    cfg = live_config(tools=tools(), session_resumption={"handle": handles[-1]})
    async with client.aio.live.connect(model=MODEL, config=cfg) as s:
        await s.send_tool_response(function_responses=[reply(calls[0])])
        await srv.wait_until(lambda: srv.stats.tool_results)
        if answer_stale:
            spoken = await collect(s)
            assert spoken.output_text.endswith("The draw_diagram tool answered ok.")
        else:
            assert srv.stats.tool_results[0].delivery == "stale"
            await s.send_realtime_input(text="it worked fine")
            spoken = await collect(s)
            assert spoken.output_text == "Offline demo, turn 2: you said: it worked fine"
    assert srv.stats.resumes == 1 and srv.stats.turns_completed == 1


async def test_close_1008_after_s_once() -> None:
    """close_1008_after_s closes the next connection once, with the real reason."""
    cfg = FakeLiveConfig(speed=20, close_1008_after_s=0.2)
    async with FakeLiveServer(api_key="k", config=cfg) as server:
        async with server.client().aio.live.connect(model=MODEL) as s:
            with pytest.raises(errors.APIError) as err:
                await collect(s)
        assert err.value.code == 1008 and "not implemented" in str(err.value.details)
        async with server.client().aio.live.connect(model=MODEL) as s:
            await s.send_realtime_input(text="still here")
            assert (await collect(s)).turn_complete
        assert server.stats.closes_1008_injected == 1


async def test_blocking_call_pending_across_a_drop_is_stale(srv: FakeLiveServer) -> None:
    """3.1: the line drops while the model waits for a blocking call; on the resumed
    connection the response to it is ignored (no reply), a new turn is answered."""
    client = srv.client()
    cfg = live_config(tools=tools(), session_resumption={})
    async with client.aio.live.connect(model=MODEL_31, config=cfg) as s:
        await s.send_realtime_input(text="hello")
        handle = (await collect(s)).handles[-1]
        await s.send_realtime_input(text="draw a diagram")
        calls: list[types.FunctionCall] = []

        async def drop(msg: types.LiveServerMessage, turn) -> None:
            if msg.tool_call:
                calls.extend(msg.tool_call.function_calls)
                srv.drop_connections()

        with pytest.raises(errors.APIError):
            await collect(s, on_message=drop)
    cfg = live_config(tools=tools(), session_resumption={"handle": handle})
    async with client.aio.live.connect(model=MODEL_31, config=cfg) as s:
        await s.send_tool_response(function_responses=[reply(calls[0])])
        await srv.wait_until(lambda: srv.stats.tool_results)
        await s.send_realtime_input(text="are you there")
        turn = await collect(s)
    assert srv.stats.tool_results[0].delivery == "stale" and not srv.stats.tool_results[0].spoken
    assert turn.output_text == "Offline demo, turn 3: you said: are you there"
    assert srv.stats.turns_completed == 2
