"""The Survey Builder's JSON files: an uploaded survey read into the builder, or the survey
written to a temporary file to download. A refused file leaves the builder untouched and says
what is wrong with it, in plain words."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from googlive.features.survey.actions import with_details
from googlive.features.survey.jsonio import SurveyError, export_survey, import_survey
from googlive.features.survey.messages import plain
from googlive.features.survey.model import MAX_FILE_BYTES
from googlive.features.survey.view import failed, render

log = logging.getLogger(__name__)


def import_file(state: Any, path: str | None) -> dict[str, Any]:
    """Load an uploaded JSON file into the builder, or explain what is wrong with it."""
    if not path:
        return failed("")
    raw = b""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            return failed(
                f"Import failed, nothing was changed. The file is too large: {size} bytes "
                f"(at most {MAX_FILE_BYTES})."
            )
        raw = Path(path).read_bytes()
        survey = import_survey(raw)
    except SurveyError as exc:
        log.info("survey import refused error=%s", type(exc).__name__)
        return failed(
            plain(f"Import failed, nothing was changed. {exc}", _loose_json(raw), with_paths=True)
        )
    except OSError:
        return failed("Import failed: the file could not be read.")
    return render(survey)


def _loose_json(raw: bytes) -> Any:
    """The file's JSON if it parses (for section titles in an error message), else None."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def export_file(state: Any, *details: Any) -> tuple[dict[str, Any], str | None]:
    """The survey as a canonical JSON file to download (path), with the builder outputs."""
    try:
        survey = with_details(state, details)
    except SurveyError as exc:
        return failed(plain(str(exc), state)), None
    folder = tempfile.mkdtemp(prefix="googlive-survey-")
    path = Path(folder) / f"{survey.id}.json"
    path.write_text(export_survey(survey), encoding="utf-8")
    return render(survey), str(path)
