"""Stop before any file is rendered when an answer would shape a path, a name or file syntax
wrongly, or when the team's config file holds a value cookiecutter silently dropped; print the
warnings (a config-file key that is not a question of this template).

The checks live in the template's extension (local_extensions/answers.py, unit-tested there).
They already ran once the answers were known (cookiecutter.json's `__answer_checks`), before
cookiecutter created the project folder; they run again while cookiecutter renders this file,
for what that first run cannot see (a quality_gates mapping, a `--replay`), and the hook prints
what they found. Runs again on every `cruft update`, with the answers from .cruft.json.
"""

from __future__ import annotations

import json
import sys


def main(report: dict[str, list[str]]) -> int:
    for warning in report["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    for error in report["errors"]:
        print(f"error: {error}", file=sys.stderr)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    # tojson escapes every character that could end the string, quotes included.
    sys.exit(main(json.loads(r"""{{ answer_report(cookiecutter) | tojson }}""")))
