"""googlive.features.tools.args: a tool's args model is also what its declaration tells the model."""

from __future__ import annotations

import pytest
from google.genai import types
from pydantic import Field

from googlive.features import tools
from googlive.features.tools import diagram, picture
from googlive.features.tools.args import ToolArgs, text_parameters
from googlive.features.tools.diagram import draw_diagram_declaration
from googlive.features.tools.picture import take_picture_declaration


class _Args(ToolArgs):
    query: str = Field(max_length=5, description="What to look up.")
    note: str = Field(default="", description="Optional.")


def test_text_fields_become_strings_and_those_without_a_default_are_required():
    assert text_parameters(_Args) == types.Schema(
        type=types.Type.OBJECT,
        properties={
            "query": types.Schema(type=types.Type.STRING, description="What to look up."),
            "note": types.Schema(type=types.Type.STRING, description="Optional."),
        },
        required=["query"],
    )


def test_with_nothing_required_the_schema_has_no_required_list():
    class NothingRequired(ToolArgs):
        note: str = ""

    assert text_parameters(NothingRequired).required is None


def test_a_field_that_is_not_text_is_refused():
    class Counted(ToolArgs):
        n: int = 0

    with pytest.raises(TypeError, match=r"Counted\.n"):
        text_parameters(Counted)


def test_unknown_keys_are_ignored_and_limits_still_apply():
    assert _Args.model_validate({"query": "abc", "extra": 1}).model_dump() == {
        "query": "abc",
        "note": "",
    }
    with pytest.raises(ValueError):
        _Args.model_validate({"query": "too long"})


def test_the_tools_declare_what_they_declared_before():
    assert draw_diagram_declaration().parameters == types.Schema(
        type=types.Type.OBJECT,
        properties={
            "code": types.Schema(
                type=types.Type.STRING, description="The complete Mermaid source."
            ),
            "title": types.Schema(
                type=types.Type.STRING, description="Optional short title shown above the diagram."
            ),
        },
        required=["code"],
    )
    assert take_picture_declaration().parameters == types.Schema(
        type=types.Type.OBJECT,
        properties={
            "reason": types.Schema(
                type=types.Type.STRING,
                description="Optional short reason shown to the user under the photo, e.g. "
                "'to read the label'.",
            )
        },
    )


def test_the_declarations_are_built_once_and_keep_their_old_names():
    """Built on first use (not at import), one object from then on; TAKE_PICTURE and
    DRAW_DIAGRAM, once module constants, are still there (the modules' __getattr__)."""
    assert take_picture_declaration() is take_picture_declaration() is picture.TAKE_PICTURE
    assert draw_diagram_declaration() is diagram.DRAW_DIAGRAM is tools.DRAW_DIAGRAM
    assert tools.TAKE_PICTURE is picture.TAKE_PICTURE
    with pytest.raises(AttributeError):
        picture.NOT_A_TOOL  # noqa: B018
