"""Tools the model can call: take_picture and draw_diagram, behind one ToolRegistry."""

from __future__ import annotations

from googlive.features.tools.diagram import (
    DRAW_DIAGRAM,
    Diagram,
    DiagramHistory,
    DrawDiagram,
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
    TAKE_PICTURE,
    CameraContext,
    Snapshot,
    TakePicture,
    encode_jpeg,
    register_take_picture,
)
from googlive.features.tools.registry import ToolHandler, ToolRegistry, ToolResult

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
    "encode_jpeg",
    "export_diagram",
    "node_missing_reason",
    "register_draw_diagram",
    "register_take_picture",
]
