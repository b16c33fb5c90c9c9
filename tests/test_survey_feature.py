"""The survey feature in a real handler, driven like FastRTC, against the local Live server."""

from __future__ import annotations

from types import SimpleNamespace

from googlive.config import Settings
from googlive.fakelive import FakeLiveServer
from googlive.fakelive import script as fake_script
from googlive.features.survey.compile import compile_instruction
from googlive.features.survey.edit import add_question, add_section, new_survey
from googlive.features.survey.examples import example_survey
from googlive.features.survey.feature import NO_SURVEY_HTML, PANEL, SurveyFeature, install
from googlive.features.survey.store import SurveyStore
from googlive.handler import GeminiHandler
from googlive.testing.peersim import SimulatedPeer
from googlive.ui import AppContext
from tests.util import is_live, offline_endpoint, until


def make_ctx(srv: FakeLiveServer, tmp_path) -> AppContext:
    ctx = AppContext(Settings(data_dir=tmp_path), offline_endpoint(srv))
    install(ctx)
    return ctx


def make_peer(ctx: AppContext, survey_id: str, owner: str = "owner") -> SimulatedPeer:
    h = GeminiHandler(ctx.settings, ctx.endpoint, features=ctx.features, services=ctx.services)
    return SimulatedPeer(h, [owner, "", "", "", "", survey_id])


def survey_feature(h: GeminiHandler) -> SurveyFeature:
    f = h.feature_of(SurveyFeature)
    assert isinstance(f, SurveyFeature)
    return f


async def live(peer: SimulatedPeer) -> GeminiHandler:
    await peer.start()
    h = peer.handler
    await until(lambda: is_live(h))
    return h


async def test_survey_answers_recorded_through_the_sdk(server, tmp_path):
    """The setup carries the compiled survey and record_answer; a valid id is recorded and shown
    in the panel; an unknown id gets an error listing the valid ids; the panel keeps its state."""
    ctx = make_ctx(server, tmp_path)
    survey = example_survey()
    ctx.services["survey_store"].for_owner("owner").save(survey)
    peer = make_peer(ctx, survey.id)
    try:
        h = await live(peer)
        feat = survey_feature(h)
        # what the server was told
        setup = server.stats.last_setup
        assert setup is not None
        sent_instruction = " ".join(p["text"] for p in setup["systemInstruction"]["parts"])
        assert sent_instruction == compile_instruction(survey)
        decls = [d for t in setup["tools"] for d in t["functionDeclarations"]]
        record = next(d for d in decls if d["name"] == "record_answer")
        assert record["parameters"]["properties"]["question_id"]["enum"] == list(
            survey.question_ids()
        )
        assert PANEL in h.conv.panels and "0/5 answered" in h.conv.panels[PANEL]
        v0 = h.conv.versions[PANEL]

        server.queue_tool_call(
            "record_answer",
            {"question_id": "q1", "answer": "Yes, <b>every</b> day", "value": "yes"},
        )
        h.send_text("next please")
        await until(lambda: len(server.stats.tool_responses) >= 1, timeout=15)
        ok = server.stats.tool_responses[0]
        assert ok["name"] == "record_answer"
        assert ok["response"]["ok"] is True and ok["response"]["answered"] == 1
        assert ok["response"]["next_question_id"] == "q2"
        panel = h.conv.panels[PANEL]
        assert h.conv.versions[PANEL] > v0
        assert "1/5 answered" in panel
        assert "<b>every</b>" not in panel and "&#60;b&#62;every" in panel
        assert feat.progress is not None and feat.progress.answers["q1"].value == "yes"

        server.queue_tool_call("record_answer", {"question_id": "q99", "answer": "whatever"})
        h.send_text("and then")
        await until(lambda: len(server.stats.tool_responses) >= 2, timeout=15)
        bad = server.stats.tool_responses[1]["response"]
        assert bad["ok"] is False and "question_id" in bad["error"]
        assert bad["valid_question_ids"] == ["q1", "q2", "q3", "q4", "q5"]
        assert "1/5 answered" in h.conv.panels[PANEL]
        assert feat.export()["summary"]["answered"] == 1
    finally:
        await peer.close()


async def test_offline_server_records_a_typed_answer(server, tmp_path):
    """The offline demo calls record_answer for a text turn saying "answer" (the browser test's
    route): the first question gets the typed text."""
    ctx = make_ctx(server, tmp_path)
    s = new_survey("Tiny", survey_id="tiny")
    s = add_section(s, "Only")
    s = add_question(s, "s1", "Favourite colour?")
    ctx.services["survey_store"].for_owner("owner").save(s)
    peer = make_peer(ctx, "tiny")
    try:
        h = await live(peer)
        h.send_text("My answer is blue")
        await until(lambda: "1/1 answered" in h.conv.panels.get(PANEL, ""), timeout=15)
        assert "My answer is blue" in h.conv.panels[PANEL]
        assert server.stats.tool_calls_sent[0]["args"] == {
            "question_id": "q1",
            "answer": "My answer is blue",
        }
    finally:
        await peer.close()


async def test_without_survey_the_conversation_is_plain(server, tmp_path):
    """No survey id, or one that does not exist: default instruction, no record_answer."""
    ctx = make_ctx(server, tmp_path)
    for survey_id, expect in (("", NO_SURVEY_HTML), ("nosuch", "could not be loaded")):
        peer = make_peer(ctx, survey_id)
        try:
            h = await live(peer)
            assert not survey_feature(h).active
            assert "record_answer" not in h.registry.names()
            setup = server.stats.last_setup
            assert "record_answer" not in str(setup.get("tools", ""))
            text = " ".join(p["text"] for p in setup["systemInstruction"]["parts"])
            assert text == ctx.settings.system_instruction
            assert expect in h.conv.panels[PANEL]
            # "answer" in a plain conversation calls no tool
            h.send_text("my answer")
            await until(
                lambda h=h: any(ln.final and ln.role.value == "model" for ln in h.conv.lines),
                timeout=15,
            )
            assert server.stats.tool_calls_sent == []
        finally:
            await peer.close()


def test_template_id_runs_the_template(tmp_path):
    """A built-in template's id loads without saving (templates are runnable as they are)."""
    store = SurveyStore(tmp_path)
    tpl = store.templates()[0]

    class H:  # the part of a CallContext the survey feature reads
        info = SimpleNamespace(owner="", survey_id=tpl.id)
        panels: dict = {}

        @classmethod
        def set_panel(cls, name, value):
            cls.panels[name] = value

    f = SurveyFeature(H, store)  # type: ignore[arg-type]
    assert f.survey == tpl
    assert f.instruction("base") == compile_instruction(tpl)
    assert [t.declaration.name for t in f.tools()] == ["record_answer"]
    assert "0/" in H.panels[PANEL]


def test_fake_script_needs_a_declared_question_id():
    turn = fake_script.UserTurn("text", 1, text="my answer is 3")
    assert fake_script.choose_tool_call(turn, {"record_answer"}, None) is None
    params = {"properties": {"question_id": {"enum": ["a1", "b2"]}}}
    assert fake_script.choose_tool_call(turn, {"record_answer": params}, None) == (
        "record_answer",
        {"question_id": "a1", "answer": "my answer is 3"},
    )
    assert fake_script.choose_tool_call(turn, {"draw_diagram": {}}, None) is None
