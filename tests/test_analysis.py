"""Tests for the post-session analysis: prompt, schema, retry policy, map-reduce, real SDK."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from google.genai import errors, types
from pydantic import BaseModel, ValidationError

from googlive.features.results.analysis import (
    MAX_INLINE_SNAPSHOTS,
    ActionItem,
    AnalysisResult,
    Evidence,
    MergedSummary,
    SessionAnalysis,
    Snapshot,
    SurveyAnswer,
    analyse,
    build_prompt,
    merge_analyses,
    render_line,
    restrict_to_survey,
    split_lines,
)
from googlive.features.results.archive import SessionArchive
from googlive.features.results.archive_layout import check_safe_fields
from googlive.features.results.archive_read import load_session

SURVEY = {
    "title": "Coffee habits",
    "sections": [
        {
            "id": "s1",
            "title": "Basics",
            "questions": [
                {"id": "q-cups", "text": "How many cups a day?", "kind": "open"},
                {"id": "q-milk", "text": "Do you take milk?", "kind": "yes_no"},
            ],
        }
    ],
}
LINES = [
    {"role": "model", "text": "Hello! How many cups of coffee do you drink a day?", "t_s": 1.0},
    {"role": "user", "text": "About three, usually.", "t_s": 83.4},
    {"role": "model", "text": "And do you take milk?", "t_s": 90.0},
    {"role": "user", "text": "No, black.", "t_s": 95.2},
]


def _text(contents: list[types.Content]) -> str:
    return "\n".join(p.text for c in contents for p in (c.parts or []) if p.text)


def _analysis(**kw: Any) -> SessionAnalysis:
    base: dict[str, Any] = dict(
        summary="s",
        key_points=[],
        decisions=[],
        action_items=[],
        open_questions=[],
        survey_answers=[],
    )
    base.update(kw)
    return SessionAnalysis(**base)


# --------------------------------------------------------------------------- a recording fake client


def reply(obj: Any, schema: type[BaseModel] = SessionAnalysis) -> types.GenerateContentResponse:
    """A response as the SDK builds it: `parsed` is set only when the text fits the schema."""
    text = obj if isinstance(obj, str) else json.dumps(obj)
    resp = types.GenerateContentResponse(
        candidates=[
            types.Candidate(content=types.Content(role="model", parts=[types.Part(text=text)]))
        ],
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=10, candidates_token_count=5, total_token_count=15
        ),
    )
    try:
        resp.parsed = schema.model_validate_json(text)
    except ValidationError:
        resp.parsed = None
    return resp


HANG = object()


@dataclass
class Call:
    model: str
    contents: list[types.Content]
    config: types.GenerateContentConfig


@dataclass
class FakeModels:
    """Answers generate_content from `script(call_number, call)`; records every call."""

    script: Callable[[int, Call], Any]
    calls: list[Call] = field(default_factory=list)

    async def generate_content(self, *, model: str, contents: Any, config: Any) -> Any:
        call = Call(model, contents, config)
        self.calls.append(call)
        step = self.script(len(self.calls), call)
        if step is HANG:
            await asyncio.Event().wait()
        if isinstance(step, BaseException):
            raise step
        return step


class FakeClient:
    def __init__(self, script: Callable[[int, Call], Any]) -> None:
        self.models = FakeModels(script)
        self.aio = self  # client.aio.models.generate_content


def good(_n: int = 0, _call: Any = None) -> types.GenerateContentResponse:
    return reply(
        _analysis(
            summary="Coffee chat.",
            key_points=["drinks three cups"],
            survey_answers=[
                SurveyAnswer(
                    question_id="q-cups",
                    question="How many cups a day?",
                    answer="Three",
                    confidence=0.9,
                    evidence=[Evidence(quote="About three, usually.", time="01:23")],
                )
            ],
        ).model_dump(mode="json")
    )


# --------------------------------------------------------------------------- prompt and schema


def test_prompt_has_timed_speaker_lines_survey_ids_and_instructions() -> None:
    """Each line reads '[mm:ss] Speaker: text'; survey questions appear with their ids."""
    contents = build_prompt(LINES, SURVEY, [{"id": "s1", "t_s": 61.0, "description": "a mug"}])
    assert len(contents) == 1 and contents[0].role == "user"
    text = _text(contents)
    assert "[01:23] User: About three, usually." in text
    assert "[00:01] Gemini: Hello!" in text
    assert 'id="q-cups": How many cups a day?' in text and 'id="q-milk"' in text
    assert "[01:01] snapshot s1: a mug" in text
    assert "quote verbatim" in text and "mm:ss" in text


def test_prompt_without_survey_asks_for_empty_survey_answers() -> None:
    """A non-survey session's prompt says survey_answers must be empty."""
    text = _text(build_prompt(LINES, None, []))
    assert "survey_answers must be an empty list" in text and "id=" not in text


def test_prompt_inlines_at_most_four_snapshot_images() -> None:
    """Snapshot JPEGs go in as inline image parts, capped."""
    snaps = [
        Snapshot(id=f"s{i}", t_s=float(i), description="d", jpeg=b"\xff\xd8" + bytes([i]))
        for i in range(6)
    ]
    parts = build_prompt(LINES, None, snaps)[0].parts or []
    images = [p for p in parts if p.inline_data is not None]
    assert len(images) == MAX_INLINE_SNAPSHOTS
    assert all(p.inline_data.mime_type == "image/jpeg" for p in images)  # type: ignore[union-attr]
    assert [p.inline_data.data for p in images] == [s.jpeg for s in snaps[:4]]  # type: ignore[union-attr]


def test_render_line_formats_minutes_past_an_hour() -> None:
    """Times are mm:ss with minutes allowed past 59."""
    from googlive.features.results.analysis import Line

    assert render_line(Line("user", "hi", 3725.9)) == "[62:05] User: hi"


def test_schema_stays_inside_gemini_subset() -> None:
    """The SDK converts SessionAnalysis to a responseSchema without anyOf/$ref or free-form dicts."""
    from google.genai import _transformers

    schema = _transformers.t_schema(None, SessionAnalysis)
    dumped = json.dumps(schema.model_dump(mode="json", exclude_none=True))  # type: ignore[union-attr]
    assert "any_of" not in dumped and "$ref" not in dumped and "additional" not in dumped
    assert set(json.loads(dumped)["required"]) == {
        "summary",
        "key_points",
        "decisions",
        "action_items",
        "open_questions",
        "survey_answers",
    }


def test_schema_is_lenient_where_it_costs_nothing() -> None:
    """A seconds time becomes mm:ss; a confidence slightly out of range is clamped; owner/due optional."""
    ev = Evidence.model_validate({"quote": "x", "time": 83.4})
    assert ev.time == "01:23"
    ans = SurveyAnswer.model_validate(
        {"question_id": "q", "question": "?", "answer": "a", "confidence": 1.2, "evidence": []}
    )
    assert ans.confidence == 1.0
    assert ActionItem.model_validate({"description": "do it"}).owner is None


# --------------------------------------------------------------------------- single call and retry policy


async def test_success_sends_json_mime_type_and_schema_and_parses() -> None:
    """One call with response_mime_type JSON and the SessionAnalysis schema gives ok=True."""
    client = FakeClient(lambda n, c: good())
    result = await analyse(client, "gemini-test", LINES, SURVEY)  # type: ignore[arg-type]
    assert result.ok and result.error is None and result.attempts == 1
    (call,) = client.models.calls
    assert call.model == "gemini-test"
    assert call.config.response_mime_type == "application/json"
    assert call.config.response_schema is SessionAnalysis
    assert result.analysis is not None and result.analysis.summary == "Coffee chat."
    assert result.analysis.survey_answers[0].evidence[0].time == "01:23"
    assert result.usage.total_tokens == 15


async def test_schema_violation_is_retried_once_then_fails_gracefully_with_raw_text() -> None:
    """Two unparsable replies: two attempts, ok=False, a user-facing message, raw text kept."""
    client = FakeClient(lambda n, c: reply(f'{{"summary": "half {n}"'))
    result = await analyse(client, "m", LINES, retry_delay_s=0)  # type: ignore[arg-type]
    assert not result.ok and result.analysis is None
    assert result.attempts == 2 and len(client.models.calls) == 2
    assert result.raw_text == '{"summary": "half 2"'
    assert result.error is not None and "raw reply is kept" in result.error
    assert "2 attempts" in result.error


async def test_schema_violation_then_good_reply_succeeds_on_retry() -> None:
    """A bad reply followed by a good one is a success after two attempts."""
    client = FakeClient(lambda n, c: reply({"wrong": True}) if n == 1 else good())
    result = await analyse(client, "m", LINES, retry_delay_s=0)  # type: ignore[arg-type]
    assert result.ok and result.attempts == 2


@pytest.mark.parametrize(
    "exc",
    [
        errors.APIError(
            503, {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
        ),
        errors.APIError(
            429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}
        ),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
async def test_retryable_rest_error_is_retried_once(exc: BaseException) -> None:
    """Transient REST and transport errors get one retry."""
    client = FakeClient(lambda n, c: exc if n == 1 else good())
    result = await analyse(client, "m", LINES, retry_delay_s=0)  # type: ignore[arg-type]
    assert result.ok and result.attempts == 2


async def test_permanent_rest_error_is_not_retried() -> None:
    """HTTP 400/403 fail at once: the same request would fail again."""
    exc = errors.APIError(
        403, {"error": {"code": 403, "message": "denied", "status": "PERMISSION_DENIED"}}
    )
    client = FakeClient(lambda n, c: exc)
    result = await analyse(client, "m", LINES, retry_delay_s=0)  # type: ignore[arg-type]
    assert not result.ok and result.attempts == 1 and "HTTP 403" in (result.error or "")


async def test_timeout_is_retried_then_reported() -> None:
    """A call that never answers is cut at timeout_s, retried once, then reported."""
    client = FakeClient(lambda n, c: HANG)
    result = await analyse(client, "m", LINES, timeout_s=0.05, retry_delay_s=0)  # type: ignore[arg-type]
    assert not result.ok and result.attempts == 2
    assert "did not answer in time" in (result.error or "")
    assert result.raw_text is None


async def test_errors_and_logs_hold_no_key_and_no_user_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Neither the result's error nor the logs echo the API key, the transcript, or reply text."""
    key = "AIzaSyTHIS-IS-THE-KEY"
    exc = errors.APIError(500, {"error": {"code": 500, "message": f"bad key {key} About three"}})
    client = FakeClient(lambda n, c: exc if n == 1 else reply('{"summary": "About three, secret"'))
    caplog.set_level(logging.DEBUG, logger="googlive.features.results.analysis")
    result = await analyse(client, "m", LINES, retry_delay_s=0)  # type: ignore[arg-type]
    assert not result.ok
    for text in [result.error or "", caplog.text]:
        assert key not in text and "About three" not in text and "black" not in text
    assert "attempt=1" in caplog.text and "chars=" in caplog.text


async def test_survey_answers_are_restricted_to_survey_questions() -> None:
    """Answers for unknown question ids, or any answers without a survey, are dropped."""
    bogus = _analysis(
        survey_answers=[
            SurveyAnswer(
                question_id="q-milk", question="?", answer="No", confidence=0.8, evidence=[]
            ),
            SurveyAnswer(
                question_id="invented", question="?", answer="x", confidence=1, evidence=[]
            ),
            SurveyAnswer(
                question_id="q-cups", question="?", answer="3", confidence=0.8, evidence=[]
            ),
        ]
    )
    assert [a.question_id for a in restrict_to_survey(bogus, SURVEY).survey_answers] == [
        "q-cups",
        "q-milk",
    ]
    client = FakeClient(lambda n, c: reply(bogus.model_dump(mode="json")))
    result = await analyse(client, "m", LINES, None)  # type: ignore[arg-type]
    assert result.ok and result.analysis is not None and result.analysis.survey_answers == []


async def test_result_saves_into_the_archive(tmp_path: Any) -> None:
    """AnalysisResult.to_dict is JSON-ready and passes the archive's no-secrets check."""
    client = FakeClient(lambda n, c: good())
    result = await analyse(client, "m", LINES, SURVEY)  # type: ignore[arg-type]
    d = result.to_dict()
    check_safe_fields(d)
    a = SessionArchive.create(tmp_path, "o")
    a.save_analysis(d)
    a.close()
    loaded = load_session(a.path).analysis
    assert (
        loaded is not None and SessionAnalysis.model_validate(loaded["analysis"]) == result.analysis
    )


# --------------------------------------------------------------------------- long transcripts


def test_split_lines_covers_everything_with_overlap_and_size_cap() -> None:
    """Chunks fit max_chars, cover every line in order, and overlap by the requested lines."""
    rendered = [f"[00:{i:02d}] User: line {i:03d} " + "x" * (i % 7) for i in range(100)]
    ranges = split_lines(rendered, 300, overlap_lines=2)
    assert ranges[0][0] == 0 and ranges[-1][1] == 100
    for (_a, b), (c, _d) in zip(ranges, ranges[1:], strict=False):
        assert c == b - 2, "two lines of overlap"
    for a, b in ranges:
        assert sum(len(s) + 1 for s in rendered[a:b]) <= 300
    covered = set().union(*(range(a, b) for a, b in ranges))
    assert covered == set(range(100))


def test_split_lines_makes_progress_with_overlong_lines() -> None:
    """A line longer than max_chars gets a chunk of its own; splitting always terminates."""
    rendered = ["a" * 50, "b" * 500, "c" * 50, "d" * 50]
    ranges = split_lines(rendered, 120, overlap_lines=3)
    assert ranges[-1][1] == 4 and all(b > a for a, b in ranges)
    assert (1, 2) in ranges


def test_merge_analyses_dedupes_lists_and_keeps_best_survey_answer() -> None:
    """Merging keeps items from every chunk once; the most confident answer wins, evidence pooled."""
    p1 = _analysis(
        summary="A.",
        key_points=["Budget is tight", "Hire"],
        decisions=["Go"],
        action_items=[ActionItem(description="Send report", owner="Ann")],
        survey_answers=[
            SurveyAnswer(
                question_id="q",
                question="?",
                answer="maybe",
                confidence=0.4,
                evidence=[Evidence(quote="maybe", time="00:10")],
            )
        ],
    )
    p2 = _analysis(
        summary="B.",
        key_points=["budget is tight.", "Move office"],
        action_items=[ActionItem(description="send report"), ActionItem(description="Book room")],
        open_questions=["When?"],
        survey_answers=[
            SurveyAnswer(
                question_id="q",
                question="?",
                answer="yes",
                confidence=0.9,
                evidence=[Evidence(quote="yes", time="05:00")],
            )
        ],
    )
    m = merge_analyses([p1, p2])
    assert m.summary == "A. B."
    assert m.key_points == ["Budget is tight", "Hire", "Move office"]
    assert [a.description for a in m.action_items] == ["Send report", "Book room"]
    assert m.open_questions == ["When?"] and m.decisions == ["Go"]
    (ans,) = m.survey_answers
    assert ans.answer == "yes" and [e.time for e in ans.evidence] == ["05:00", "00:10"]
    assert merge_analyses([p1, p2], summary="whole").summary == "whole"


def _chunk_script(n: int, call: Call) -> Any:
    """Per chunk, report the line numbers it saw; the merge call returns a fixed summary."""
    if call.config.response_schema is MergedSummary:
        return reply({"summary": "merged summary"}, MergedSummary)
    seen = sorted({int(x) for x in re.findall(r"line (\d{3})", _text(call.contents))})
    return reply(
        _analysis(
            summary=f"part {seen[0]}-{seen[-1]}",
            key_points=[f"point {i}" for i in seen if i % 10 == 0],
            action_items=[ActionItem(description=f"task from {seen[0]}")],
            survey_answers=[
                SurveyAnswer(
                    question_id="q-cups",
                    question="?",
                    answer=f"a{seen[-1]}",
                    confidence=seen[-1] / 100,
                    evidence=[],
                )
            ],
        ).model_dump(mode="json")
    )


async def test_long_transcript_is_chunked_analysed_and_merged() -> None:
    """Over max_chars: one call per chunk plus one merge call; the result has items from every chunk."""
    lines = [
        {
            "role": "user" if i % 2 else "model",
            "text": f"line {i:03d} " + "words " * 5,
            "t_s": float(i * 3),
        }
        for i in range(60)
    ]
    client = FakeClient(_chunk_script)
    result = await analyse(client, "m", lines, SURVEY, max_chars=800, retry_delay_s=0)  # type: ignore[arg-type]
    assert result.ok and result.analysis is not None
    n = result.chunks
    assert n > 3
    assert len(client.models.calls) == n + 1 == result.attempts
    chunk_calls = [c for c in client.models.calls if c.config.response_schema is SessionAnalysis]
    assert len(chunk_calls) == n
    for i, c in enumerate(chunk_calls, 1):
        assert f"part {i} of {n}" in _text(c.contents)
        assert len(_text(c.contents).split("Transcript:\n", 1)[1]) <= 800
    assert result.analysis.summary == "merged summary"
    assert result.analysis.key_points == [f"point {i}" for i in range(0, 60, 10)]
    assert len(result.analysis.action_items) == n
    (ans,) = result.analysis.survey_answers
    assert ans.answer == "a59"
    merge_call = client.models.calls[-1]
    assert "part 0-" in _text(merge_call.contents)
    assert result.usage.total_tokens == 15 * (n + 1)


async def test_failed_chunk_leaves_a_partial_analysis_with_a_warning() -> None:
    """One chunk failing twice does not sink the rest; the result says which part is missing."""

    def script(n: int, call: Call) -> Any:
        if "part 2 of" in _text(call.contents):
            return reply('{"oops"')
        return _chunk_script(n, call)

    lines = [
        {"role": "user", "text": f"line {i:03d} " + "words " * 5, "t_s": float(i)}
        for i in range(40)
    ]
    client = FakeClient(script)
    result = await analyse(client, "m", lines, max_chars=800, retry_delay_s=0)  # type: ignore[arg-type]
    assert result.ok and result.analysis is not None
    assert any("Parts 2 of" in w for w in result.warnings)
    assert result.raw_text is not None and '{"oops"' in result.raw_text
    assert result.attempts == result.chunks + 1 + 1  # every chunk, one retry, the merge


async def test_all_chunks_failing_is_a_graceful_error() -> None:
    """If no chunk can be analysed the result is ok=False with a message, not an exception."""
    lines = [
        {"role": "user", "text": f"line {i:03d} " + "words " * 5, "t_s": float(i)}
        for i in range(40)
    ]
    client = FakeClient(lambda n, c: errors.APIError(500, {"error": {"code": 500}}))
    result = await analyse(client, "m", lines, max_chars=800, retry_delay_s=0)  # type: ignore[arg-type]
    assert not result.ok and isinstance(result, AnalysisResult)
    assert "None of the" in (result.error or "") and result.attempts == 2 * result.chunks


# --------------------------------------------------------------------------- real SDK, local server


@contextlib.asynccontextmanager
async def served(api_key: str | None = None, **config: Any) -> AsyncIterator[tuple[Any, Any]]:
    """The local Live server and a real SDK client for it (closed afterwards)."""
    from googlive.fakelive import FakeLiveConfig, FakeLiveServer

    async with FakeLiveServer(api_key="k", config=FakeLiveConfig(**config)) as srv:
        client = srv.client(api_key=api_key)
        try:
            yield srv, client
        finally:
            await client.aio.aclose()  # else the server's graceful shutdown waits on keep-alive


async def test_sdk_request_shape_and_parsed_success() -> None:
    """Through the real SDK: JSON mime type and a response schema are sent; the reply parses."""
    async with served() as (srv, client):
        result = await analyse(client, "gemini-test", LINES, SURVEY, retry_delay_s=0)
        body = srv.stats.last_rest_request
        assert srv.stats.rest_requests == 1
    assert result.ok and result.attempts == 1 and result.analysis is not None
    assert result.analysis.summary and result.usage.total_tokens > 0
    gen = body["generationConfig"]
    assert gen["responseMimeType"] == "application/json"
    schema = gen.get("responseSchema") or gen.get("responseJsonSchema")
    assert set(schema["properties"]) == {
        "summary",
        "key_points",
        "decisions",
        "action_items",
        "open_questions",
        "survey_answers",
    }
    sent = " ".join(p.get("text", "") for c in body["contents"] for p in c["parts"])
    assert "[01:23] User: About three, usually." in sent and 'id="q-cups"' in sent


async def test_sdk_schema_violation_retried_then_graceful_error_with_raw_text() -> None:
    """Two schema-violating replies: one retry, then ok=False with the raw reply kept."""
    async with served(rest_bad_responses=2) as (srv, client):
        result = await analyse(client, "gemini-test", LINES, retry_delay_s=0)
        assert srv.stats.rest_requests == 2
    assert not result.ok and result.attempts == 2 and result.analysis is None
    assert result.raw_text and "raw reply is kept" in (result.error or "")


async def test_sdk_one_schema_violation_then_success() -> None:
    """One schema-violating reply is absorbed by the retry."""
    async with served(rest_bad_responses=1) as (srv, client):
        result = await analyse(client, "gemini-test", LINES, retry_delay_s=0)
        assert srv.stats.rest_requests == 2
    assert result.ok and result.attempts == 2


async def test_sdk_rest_error_is_retried() -> None:
    """One HTTP 503 then success; a persistent 503 gives a graceful error after two attempts."""
    async with served(rest_error_status=503, rest_error_count=1) as (srv, client):
        first = await analyse(client, "gemini-test", LINES, retry_delay_s=0)
        assert srv.stats.rest_requests == 2
        srv.config.rest_error_status = 503
        second = await analyse(client, "gemini-test", LINES, retry_delay_s=0)
        assert srv.stats.rest_requests == 4
    assert first.ok and first.attempts == 2
    assert not second.ok and second.attempts == 2 and "HTTP 503" in (second.error or "")


async def test_sdk_bad_key_is_not_retried_and_not_echoed() -> None:
    """A rejected key fails at once with a message that does not contain the key."""
    async with served(api_key="WRONG-KEY-123") as (srv, client):
        result = await analyse(client, "gemini-test", LINES, retry_delay_s=0)
        assert srv.stats.rest_requests == 1
    assert not result.ok and result.attempts == 1
    assert "API key" in (result.error or "") and "WRONG-KEY-123" not in (result.error or "")


async def test_sdk_long_transcript_map_reduce() -> None:
    """Through the real SDK: one request per chunk plus one merge request with the small schema."""
    lines = [
        {
            "role": "user" if i % 2 else "model",
            "text": f"line {i:03d} " + "words " * 5,
            "t_s": float(i * 3),
        }
        for i in range(30)
    ]
    async with served() as (srv, client):
        result = await analyse(client, "gemini-test", lines, max_chars=800, retry_delay_s=0)
        assert srv.stats.rest_requests == result.chunks + 1
        merge_body = srv.stats.last_rest_request
    assert result.ok and result.chunks > 1 and result.analysis is not None
    gen = merge_body["generationConfig"]
    schema = gen.get("responseSchema") or gen.get("responseJsonSchema")
    assert set(schema["properties"]) == {"summary"}
    assert result.analysis.summary and result.analysis.key_points


async def test_chunks_get_the_snapshots_of_their_time_span() -> None:
    """In map-reduce each snapshot is described in the chunk whose time span holds it."""
    lines = [
        {"role": "user", "text": f"line {i:03d} " + "words " * 5, "t_s": float(i * 10)}
        for i in range(40)
    ]
    snaps = [
        Snapshot(id="early", t_s=5.0, description="first"),
        Snapshot(id="late", t_s=395.0, description="last"),
    ]
    client = FakeClient(_chunk_script)
    result = await analyse(client, "m", lines, None, snaps, max_chars=800, retry_delay_s=0)  # type: ignore[arg-type]
    chunk_texts = [
        _text(c.contents)
        for c in client.models.calls
        if c.config.response_schema is SessionAnalysis
    ]
    assert result.ok and len(chunk_texts) == result.chunks > 2
    assert [("snapshot early" in t, "snapshot late" in t) for t in chunk_texts] == (
        [(True, False)] + [(False, False)] * (result.chunks - 2) + [(False, True)]
    )


# --------------------------------------------------------------------------- offline demo


def _offline_session() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    t0 = 1_800_000_000.0
    lines = [
        {"role": "user", "text": "[offline demo heard 1.5 s of speech]", "t_s": 2.0},
        {
            "role": "model",
            "text": "Offline demo, turn 1: I can't understand speech",
            "t_s": 3.0,
            "latency_ms": 200.0,
        },
        {"role": "user", "text": "My answer is every day", "t_s": 5.0},
        {
            "role": "model",
            "text": "Offline demo, turn 2: you said: My answer is every day",
            "t_s": 5.3,
            "latency_ms": 300.0,
        },
        {"role": "user", "text": "Draw a diagram", "t_s": 8.0},
        {"role": "model", "text": "Offline demo, turn 3", "t_s": 8.4, "latency_ms": 500.0},
        {"role": "user", "text": "[offline demo heard 2.0 s of speech]", "t_s": 11.0},
        {"role": "user", "text": "thanks", "t_s": 14.0},
        {"role": "model", "text": "Offline demo, turn 5", "t_s": 14.2, "latency_ms": 100.0},
    ]
    survey = {
        "title": "Feedback",
        "sections": [
            {
                "title": "A",
                "questions": [{"id": "q1", "text": "How often?"}, {"id": "q2", "text": "Why?"}],
            }
        ],
        "answers": {
            "answers": [
                {
                    "question_id": "q1",
                    "question": "How often?",
                    "answer": "My answer is every day",
                    "value": "Every day",
                    "confidence": None,
                    "at": t0 + 5.1,
                },
                {"question_id": "q2", "question": "Why?", "answer": None, "at": None},
            ]
        },
    }
    return lines, survey


def test_offline_analysis_is_counted_from_the_transcript() -> None:
    from googlive.features.results.analysis_offline import offline_analysis

    lines, survey = _offline_session()
    data = offline_analysis(
        lines, survey, duration_s=15.2, snapshots=1, diagrams=2, t0_unix=1_800_000_000.0
    )
    a = data["analysis"]
    assert data["ok"] and data["offline"] and data["attempts"] == 0
    assert data["usage"]["total_tokens"] == 0  # nothing to pay for
    s = a["summary"]
    assert (
        "It lasted 00:15: 5 turns from you (3 typed, 2 spoken, 3.5 s of speech) and 4 replies." in s
    )
    assert "Replies began 250 ms after you finished (median of 4)." in s
    assert "1 snapshot and 2 diagrams." in s
    assert "Survey “Feedback”: 1 of 2 questions answered during the interview." in s
    assert "(s)" not in s and "00:00" not in json.dumps(a)
    assert a["key_points"] == [
        "[00:05] My answer is every day",
        "[00:08] Draw a diagram",
        "[00:14] thanks",
    ]
    assert a["decisions"] == a["action_items"] == a["open_questions"] == []
    [ans] = a["survey_answers"]
    # The recorded value is in the answer's words already, so it is not repeated.
    assert ans["question_id"] == "q1" and ans["answer"] == "My answer is every day"
    assert ans["evidence"] == [{"quote": "My answer is every day", "time": "00:05"}]
    assert ans["confidence"] is None
    # Every placeholder-like string appears once at most: nothing is filler.
    texts = [s, *a["key_points"]]
    assert len(texts) == len(set(texts))
    check_safe_fields(data)  # saveable as analysis.json


def test_offline_analysis_of_an_empty_or_surveyless_session() -> None:
    from googlive.features.results.analysis_offline import offline_analysis

    data = offline_analysis([], None, duration_s=4.0)
    assert "It lasted 00:04 and nothing was said or typed." in data["analysis"]["summary"]
    assert data["analysis"]["key_points"] == [] and data["analysis"]["survey_answers"] == []
    one = offline_analysis([{"role": "user", "text": "hi", "t_s": 0.5}], None)
    assert "1 turn from you (1 typed) and 0 replies." in one["analysis"]["summary"]
    assert (
        "Survey" not in one["analysis"]["summary"]
        and "Replies began" not in one["analysis"]["summary"]
    )
