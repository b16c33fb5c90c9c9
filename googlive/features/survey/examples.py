"""A small example survey covering every question kind, for tests and UI previews."""

from __future__ import annotations

from googlive.features.survey.edit import add_question, add_section, new_survey
from googlive.features.survey.model import Survey


def example_survey() -> Survey:
    """A five-question, two-section survey touching every question kind (tests, UI previews)."""
    s = new_survey(
        "Coffee habits",
        survey_id="coffee",
        purpose="Learn how the team drinks coffee.\nResults shape the new kitchen.",
        persona="Robin, an office manager",
        tone="light and quick",
        language="French",
    )
    s = add_section(s, "Habits", "Daily routine.")
    s = add_question(s, "s1", "Do you drink coffee?", "yes_no", follow_up="If no, ask why not.")
    s = add_question(
        s,
        "s1",
        "How many cups a day?",
        "scale",
        scale={"min": 0, "max": 8, "min_label": "None", "max_label": "Eight or more"},
    )
    s = add_section(s, "Preferences")
    s = add_question(
        s, "s2", "Favourite drink?", "single_choice", options=["Espresso", "Latte", "Tea"]
    )
    s = add_question(
        s, "s2", "Which extras?", "multiple_choice", options=["Milk", "Sugar", "Oat milk"]
    )
    s = add_question(s, "s2", "Anything else?", required=False)
    return s
