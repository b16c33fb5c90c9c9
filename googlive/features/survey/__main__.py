"""`python -m googlive.features.survey schema > assets/survey.schema.json` regenerates the schema."""

from __future__ import annotations

import sys

from googlive.features.survey.jsonio import render_json_schema


def main(argv: list[str]) -> int:
    if argv != ["schema"]:
        print(
            "usage: python -m googlive.features.survey schema > assets/survey.schema.json",
            file=sys.stderr,
        )
        return 2
    sys.stdout.write(render_json_schema())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
