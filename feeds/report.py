"""A validation report for people (text), for tools (JSON) and for GitHub Actions.

The JSON shape is an interface other tools rely on: fields are only ever added, and
``version`` changes if one is ever renamed or removed.  README's "Validate output" section
documents it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import click

from feeds.diagnostics import Diagnostic, Severity

FORMATS = ("text", "json", "github")
JSON_VERSION = 1


@dataclass(frozen=True)
class Summary:
    files: int
    invalid_files: int
    errors: int
    warnings: int
    strict: bool

    @property
    def valid(self) -> bool:
        return self.errors == 0

    def sentence(self) -> str:
        """One line for people, such as ``5 files checked: 1 invalid file, 1 error.``"""
        files = plural(self.files, "file")
        warnings = plural(self.warnings, "warning")
        if self.valid:
            return f"{files} checked: all valid" + (f" ({warnings})." if self.warnings else ".")
        counts = [plural(self.invalid_files, "invalid file"), plural(self.errors, "error")]
        if self.warnings:
            counts.append(warnings)
        return f"{files} checked: {', '.join(counts)}."


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


_SEVERITY_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow"}


def text_lines(diagnostics: Sequence[Diagnostic]) -> Iterator[str]:
    """``file:line:column: severity: field: message [rule]``, styled for a terminal
    (``click.echo`` drops the styles when the output is not one)."""
    for d in diagnostics:
        where = click.style(f"{d.location()}:", bold=True)
        severity = click.style(f"{d.severity}:", fg=_SEVERITY_COLOURS[d.severity], bold=True)
        field = f"{d.field}: " if d.field else ""
        rule = click.style(f"[{d.rule}]", dim=True)
        yield f"{where} {severity} {field}{d.message} {rule}"


def as_json(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    document = {
        "version": JSON_VERSION,
        "diagnostics": [
            {
                "file": d.file,
                "line": d.line,
                "column": d.column,
                "field": d.field,
                "rule": d.rule,
                "message": d.message,
                "severity": str(d.severity),
            }
            for d in diagnostics
        ],
        "summary": {
            "files": summary.files,
            "invalid_files": summary.invalid_files,
            "errors": summary.errors,
            "warnings": summary.warnings,
            "strict": summary.strict,
            "valid": summary.valid,
        },
    }
    return json.dumps(document, indent=2)


def github_lines(diagnostics: Sequence[Diagnostic]) -> Iterator[str]:
    """Workflow commands that GitHub Actions turns into annotations on the changed lines."""
    for d in diagnostics:
        properties = [("file", d.file)]
        if d.line is not None:
            properties += [("line", str(d.line)), ("col", str(d.column or 1))]
        properties.append(("title", f"feeds {d.rule}" + (f" in {d.field}" if d.field else "")))
        joined = ",".join(f"{name}={_escape_property(value)}" for name, value in properties)
        message = f"{d.field}: {d.message}" if d.field else d.message
        yield f"::{d.severity} {joined}::{_escape_data(message)}"


def _escape_data(text: str) -> str:
    # The escaping GitHub's runner undoes (actions/toolkit, command.ts).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
