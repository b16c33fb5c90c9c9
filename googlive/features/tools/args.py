"""A tool's arguments, said once: the pydantic model the registry checks a call against, and the
declaration's `parameters` (what the model is told it may send) derived from it.

`ToolArgs` is the base of every such model: keys the model adds that the tool does not know are
ignored, not refused. `text_parameters(Model)` is the OBJECT schema of a model whose fields are
all text: each field a STRING with its `Field(description=...)`, and the fields without a
default are required. Limits such as `max_length` stay in the model (a call is checked against
them), not in the schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from google.genai import types


class ToolArgs(BaseModel):
    """Base of a tool's args model (`ToolRegistry.register(..., args_model=...)`)."""

    model_config = ConfigDict(extra="ignore")


def text_parameters(model: type[BaseModel]) -> types.Schema:
    """The declaration `parameters` for `model`; TypeError for a field that is not `str`."""
    from google.genai import types

    properties: dict[str, types.Schema] = {}
    required: list[str] = []
    for name, f in model.model_fields.items():
        if f.annotation is not str:
            raise TypeError(f"{model.__name__}.{name}: only text fields can be declared")
        properties[name] = types.Schema(type=types.Type.STRING, description=f.description)
        if f.is_required():
            required.append(name)
    return types.Schema(type=types.Type.OBJECT, properties=properties, required=required or None)
