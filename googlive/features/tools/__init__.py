"""Tools the model can call: take_picture and draw_diagram, behind one ToolRegistry."""

from __future__ import annotations

from typing import Any

from googlive.features.tools.diagram import (
    Diagram,
    DiagramHistory,
    DrawDiagram,
    draw_diagram_declaration,
    export_diagram,
    register_draw_diagram,
)
from googlive.features.tools.mermaid_check import (
    MermaidCheck,
    MermaidError,
    check_mermaid,
    check_safety,
)
from googlive.features.tools.mermaid_node import MermaidValidator, node_missing_reason
from googlive.features.tools.picture import (
    CAMERA_OFF_ERROR,
    CameraContext,
    Snapshot,
    TakePicture,
    encode_jpeg,
    register_take_picture,
    take_picture_declaration,
)
from googlive.features.tools.registry import ToolHandler, ToolRegistry, ToolResult


def __getattr__(name: str) -> Any:
    """DRAW_DIAGRAM and TAKE_PICTURE, built when first asked for (google-genai is not imported
    with this package: see googlive/features/tools/picture.py)."""
    if name == "DRAW_DIAGRAM":
        return draw_diagram_declaration()
    if name == "TAKE_PICTURE":
        return take_picture_declaration()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CAMERA_OFF_ERROR",
    "DRAW_DIAGRAM",
    "TAKE_PICTURE",
    "CameraContext",
    "Diagram",
    "DiagramHistory",
    "DrawDiagram",
    "MermaidCheck",
    "MermaidError",
    "MermaidValidator",
    "Snapshot",
    "TakePicture",
    "ToolHandler",
    "ToolRegistry",
    "ToolResult",
    "check_mermaid",
    "check_safety",
    "draw_diagram_declaration",
    "encode_jpeg",
    "export_diagram",
    "node_missing_reason",
    "register_draw_diagram",
    "register_take_picture",
    "take_picture_declaration",
]
