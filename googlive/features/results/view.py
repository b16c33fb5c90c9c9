"""One archived session as the values of the Results panels (`build_results`), and the
order those values go out in (`ResultsView.updates`, matching `ResultsPlugin.panel_outputs`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from googlive.features.results import survey_view
from googlive.features.results.archive_layout import ANALYSIS_FILE, CAPTIONS_FILE
from googlive.features.results.archive_read import load_session
from googlive.features.results.poster import has_video, poster_for
from googlive.features.results.render import (
    analysis_html,
    diagram_label,
    diagrams_markdown,
    header_html,
    ordered_diagrams,
    snapshot_gallery,
    transcript_html,
)

log = logging.getLogger(__name__)

# Containers a <video> plays (an audio-only WebM too: it shows the poster with the captions).
VIDEO_SUFFIXES = (".webm", ".mp4", ".mkv")
NO_RECORDING = "*No recording for this session.*"


@dataclass
class ResultsView:
    """The values of the Results panels for one session."""

    session_id: str
    path: Path
    header: str
    transcript: str
    analysis: str
    survey: str = ""
    snapshots: list[tuple[str, str]] = field(default_factory=list)
    diagrams: str = ""
    diagram_sources: list[tuple[str, str]] = field(default_factory=list)  # (label, source)
    recording: str | None = None
    recording_is_video: bool = False
    captions: str | None = None
    poster: str | None = None
    analysis_file: str | None = None
    has_analysis: bool = False

    def video_value(self) -> Any:
        if not (self.recording and self.recording_is_video):
            return None
        return (self.recording, self.captions) if self.captions else self.recording

    def updates(self) -> tuple[Any, ...]:
        """In the order of `ResultsPlugin.panel_outputs`."""
        rec = self.recording
        video = bool(rec and self.recording_is_video)
        n_dia = len(self.diagram_sources)
        return (
            gr.update(value=self.header),
            gr.update(value=self.transcript),
            gr.update(value=self.analysis),
            gr.update(value=self.survey, visible=bool(self.survey)),
            gr.update(value=self.snapshots or None, visible=bool(self.snapshots)),
            gr.update(value="" if self.snapshots else "*No snapshots in this session.*"),
            gr.update(value=self.diagrams),
            gr.update(
                choices=[(label, i) for i, (label, _s) in enumerate(self.diagram_sources)],
                value=0 if n_dia else None,
                visible=n_dia > 1,
            ),
            gr.update(
                value=self.diagram_sources[0][1] if n_dia else "",
                visible=n_dia > 0,
                label=f"Source of diagram {self.diagram_sources[0][0]}"
                if n_dia == 1
                else "Diagram source (Mermaid)",
            ),
            self.diagram_sources,
            gr.update(value=self.video_value(), visible=video),
            gr.update(value=rec if rec and not video else None, visible=bool(rec and not video)),
            gr.update(value=self.poster if video else None),
            gr.update(value="" if rec else NO_RECORDING),
            gr.update(value=self.analysis_file, visible=bool(self.analysis_file)),
            gr.update(value=None, visible=False),  # a zip prepared for another session
        )


def survey_html(session: Any) -> str:
    res = survey_view.reconcile(
        session.survey, session.analysis, session.transcript, session.t0_unix
    )
    return survey_view.render_html(res)


def build_results(
    session_path: str | Path, *, analysing: bool = False, tz: str | None = None
) -> ResultsView:
    """Read an archived session (owner-checked path) into Results panel values.

    Makes the poster frame on first use (cached in the session folder)."""
    s = load_session(session_path)
    rec = s.recording
    is_video = rec is not None and rec.suffix in VIDEO_SUFFIXES
    poster = captions = None
    if rec is not None and is_video:
        try:
            poster_path = poster_for(
                s.path, rec, [x.path for x in s.snapshots], video=has_video(rec)
            )
        except Exception as e:  # a poster is a nicety: never let it break the page
            log.warning("poster: failed (%s)", type(e).__name__)
            poster_path = None
        poster = str(poster_path) if poster_path else None
        vtt = s.path / CAPTIONS_FILE
        captions = (
            str(vtt) if vtt.is_file() and not vtt.is_symlink() and vtt.stat().st_size > 0 else None
        )
    analysis_file = s.path / ANALYSIS_FILE
    survey = survey_html(s) if s.survey is not None else ""
    return ResultsView(
        session_id=s.session_id,
        path=s.path,
        header=header_html(s, tz),
        transcript=transcript_html(s),
        analysis=analysis_html(s.analysis, running=analysing, survey_shown=bool(survey)),
        survey=survey,
        snapshots=snapshot_gallery(s),
        diagrams=diagrams_markdown(s),
        diagram_sources=[
            (diagram_label(i, d), d.source) for i, d in enumerate(ordered_diagrams(s), 1)
        ],
        recording=str(rec) if rec is not None else None,
        recording_is_video=is_video,
        captions=captions,
        poster=poster,
        analysis_file=str(analysis_file) if s.analysis is not None and not analysing else None,
        has_analysis=s.analysis is not None,
    )
