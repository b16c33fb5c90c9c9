"""Survey storage: each visitor's surveys as JSON files, plus read-only built-in templates.

Privacy: a visitor's surveys live under `data_dir/surveys/owners/<owner_hash>/` (the same
hash of the owner the session archive uses), reached only through `store.for_owner(owner)`. Two
owners never see, load or overwrite each other's surveys: a save with an id another owner uses
writes the saver's own file. The store made without an owner (`SurveyStore(data_dir)`) is the
operator's: `data_dir/surveys/<id>.json`, the layout before surveys were private. Surveys
saved there by earlier versions are therefore unreadable from the page (the migration choice:
nothing is guessed about whose they were); an operator can move a file into an owner's folder.
The page never serves files from the data dir (googlive/public/httpguard.py) and `surveys/` is in
Gradio's blocked_paths.

The only I/O in the survey package. File names come from the survey id (validated against a
strict pattern), never from the title. Writes go to a temporary file in the same directory and
are moved into place with `os.replace`, so a crash leaves either the old file or the new one.
Logs carry ids and error types only, never survey text.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from googlive import paths
from googlive.features.results.archive_layout import owner_hash
from googlive.features.survey.jsonio import (
    SurveyError,
    SurveyImportError,
    export_survey,
    import_survey,
)
from googlive.features.survey.model import SURVEY_ID_PATTERN, Survey
from googlive.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

DEFAULT_TEMPLATES_DIR = paths.ASSETS / "surveys"
OWNERS_DIR = "owners"
MAX_SAVED_PER_OWNER = 100
_ID = re.compile(SURVEY_ID_PATTERN)


@dataclass(frozen=True, slots=True)
class SurveyInfo:
    """One line of a survey list."""

    id: str
    title: str
    questions: int
    source: Literal["saved", "template"]


def _info(survey: Survey, source: Literal["saved", "template"]) -> SurveyInfo:
    return SurveyInfo(survey.id, survey.title, len(survey.question_ids()), source)


class SurveyStore:
    """Saved surveys under `data_dir/surveys/<id>.json` and templates from `templates_dir`."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        templates_dir: str | os.PathLike[str] | None = DEFAULT_TEMPLATES_DIR,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.dir = self.data_dir / "surveys"
        self.templates_dir = Path(templates_dir) if templates_dir is not None else None
        self._templates: dict[str, Survey] | None = None
        self.owner_hash: str | None = None
        self.max_saved: int | None = None

    def for_owner(self, owner: str) -> SurveyStore:
        """The surveys of one owner (the page's visitor); templates are shared and read-only."""
        if not isinstance(owner, str) or not owner:
            raise SurveyError("owner: this page has no visitor id yet; reload the page")
        view = SurveyStore(self.data_dir, self.templates_dir)
        view._templates = self._load_templates()
        view.owner_hash = owner_hash(owner)
        view.dir = self.dir / OWNERS_DIR / view.owner_hash
        view.max_saved = MAX_SAVED_PER_OWNER
        return view

    def legacy_files(self) -> int:
        """Survey files saved before surveys were private (not readable from the page)."""
        return len(list(self.dir.glob("*.json"))) if self.dir.is_dir() else 0

    # templates

    def templates(self) -> list[Survey]:
        """Built-in templates, sorted by title. A broken template file is a bug: it raises."""
        return sorted(self._load_templates().values(), key=lambda s: (s.title.casefold(), s.id))

    def _load_templates(self) -> dict[str, Survey]:
        if self._templates is None:
            found: dict[str, Survey] = {}
            if self.templates_dir is not None and self.templates_dir.is_dir():
                for path in sorted(self.templates_dir.glob("*.json")):
                    try:
                        survey = import_survey(path.read_bytes())
                    except SurveyImportError as exc:
                        raise SurveyImportError(f"template {path.name}: {exc}") from None
                    if survey.id in found:
                        raise SurveyImportError(
                            f"template {path.name}: id {survey.id!r} used twice"
                        )
                    found[survey.id] = survey
            self._templates = found
        return self._templates

    def template(self, survey_id: str) -> Survey | None:
        """The built-in template with this id, or None."""
        return self._load_templates().get(survey_id)

    # saved surveys

    def _path(self, survey_id: str) -> Path:
        if not isinstance(survey_id, str) or not _ID.match(survey_id):
            raise SurveyError("id: not a valid survey id")
        return self.dir / f"{survey_id}.json"

    def save(self, survey: Survey) -> Path:
        """Write `survey` atomically; overwrites an earlier save with the same id."""
        if survey.id in self._load_templates():
            raise SurveyError(
                f"id: {survey.id!r} is a built-in template; save a copy under a new id"
            )
        path = self._path(survey.id)
        if self.max_saved is not None and not path.exists() and self.dir.is_dir():
            count = sum(1 for _ in self.dir.glob("*.json"))
            if count >= self.max_saved:
                raise SurveyError(
                    f"library: you have {count} saved surveys, the most this server keeps per "
                    "visitor; delete one (or export it) before saving another"
                )
        self.dir.mkdir(parents=True, exist_ok=True)
        data = export_survey(survey).encode("utf-8")
        atomic_write_bytes(path, data)
        log.info("saved survey id=%s bytes=%d", survey.id, len(data))
        return path

    def load(self, survey_id: str) -> Survey:
        """A saved survey, or else the template with that id; `SurveyError` if neither."""
        path = self._path(survey_id)
        if path.is_file():
            survey = import_survey(path.read_bytes())
            if survey.id != survey_id:
                raise SurveyImportError(f"id: file {path.name} holds survey {survey.id!r}")
            return survey
        template = self._load_templates().get(survey_id)
        if template is not None:
            return template
        raise SurveyError(f"id: no survey {survey_id!r}")

    def delete(self, survey_id: str) -> bool:
        """Delete a saved survey; False if there was none. Templates cannot be deleted."""
        if survey_id in self._load_templates() and not self._path(survey_id).exists():
            raise SurveyError(f"id: {survey_id!r} is a built-in template and cannot be deleted")
        try:
            self._path(survey_id).unlink()
        except FileNotFoundError:
            return False
        log.info("deleted survey id=%s", survey_id)
        return True

    def list_saved(self) -> list[SurveyInfo]:
        """Saved surveys sorted by title; unreadable files are skipped (and logged by name)."""
        if not self.dir.is_dir():
            return []
        out: list[SurveyInfo] = []
        for path in sorted(self.dir.glob("*.json")):
            if path.name.startswith(".") or not _ID.match(path.stem):
                continue
            try:
                survey = import_survey(path.read_bytes())
            except (OSError, SurveyImportError) as exc:
                log.warning(
                    "skipping unreadable survey file=%s error=%s", path.name, type(exc).__name__
                )
                continue
            if survey.id != path.stem:
                log.warning("skipping survey file=%s: id does not match the file name", path.name)
                continue
            out.append(_info(survey, "saved"))
        return sorted(out, key=lambda i: (i.title.casefold(), i.id))

    def list_surveys(self) -> list[SurveyInfo]:
        """Saved surveys, then templates, each group sorted by title."""
        return self.list_saved() + [_info(t, "template") for t in self.templates()]
