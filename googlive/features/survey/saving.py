"""Whether saving a survey would replace one the visitor already has, and so must ask first
(pure apart from reading the visitor's own store).

Two cases ask: the survey's id is saved already with other content (the visitor loaded a saved
survey and changed it), or another saved survey has the same title (two "Customer interview"s
would be hard to tell apart). Saving what is already saved, unchanged, asks nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from googlive.features.survey.jsonio import SurveyError
from googlive.features.survey.model import Survey
from googlive.features.survey.store import SurveyStore

Mode = Literal["same_id", "same_title"]

# (replace button, other button) per case
BUTTONS: dict[str, tuple[str, str]] = {
    "same_id": ("Replace it", "Save as a new survey"),
    "same_title": ("Replace it", "Keep both"),
}


@dataclass(frozen=True, slots=True)
class SaveAsk:
    mode: Mode
    target_id: str  # the saved survey that "Replace it" overwrites
    question: str  # what the page asks, plain text

    def to_state(self, then_start: bool) -> dict[str, object]:
        return {"mode": self.mode, "target_id": self.target_id, "then_start": then_start}


def _same_title(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def plan_save(store: SurveyStore, survey: Survey) -> SaveAsk | None:
    """The question to ask before saving `survey` into `store`, or None to save at once."""
    saved = {info.id: info for info in store.list_saved()}
    if survey.id in saved:
        try:
            old = store.load(survey.id)
        except SurveyError:
            return None  # an unreadable old file: replacing it loses nothing readable
        if old == survey:
            return None
        return SaveAsk(
            "same_id",
            survey.id,
            f"Replace your saved “{old.title}” with this version? "
            "“Save as a new survey” keeps both.",
        )
    same = [info for info in saved.values() if _same_title(info.title, survey.title)]
    if same:
        return SaveAsk(
            "same_title",
            same[0].id,
            f"You already have a saved survey called “{same[0].title}”. "
            "Replace it with this one, or keep both?",
        )
    return None
