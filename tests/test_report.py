"""Validate output for people, tools and GitHub Actions."""

from __future__ import annotations

import json
from pathlib import Path

from click import unstyle as click_unstyle
from click.testing import CliRunner

from feeds.cli import main
from feeds.diagnostics import Diagnostic, Severity
from feeds.report import Summary, as_json, github_lines, text_lines
from tests.cli import feeds
from tests.conftest import RecordFactory

ERROR = Diagnostic("records/a.md", 5, 9, "webUrl", "schema:format", "'x' is not a URL")
WARNING = Diagnostic(
    "records/b.md", 27, 10, "images[0].url", "html-entity", "has '&#038;'", Severity.WARNING
)
WHOLE_FILE = Diagnostic("records/c.md", None, None, "", "unreadable", "cannot read file")
SUMMARY = Summary(files=3, invalid_files=2, errors=2, warnings=1, strict=False)


def test_text_lines_without_styles() -> None:
    lines = [click_unstyle(line) for line in text_lines([ERROR, WARNING, WHOLE_FILE])]
    assert lines == [
        "records/a.md:5:9: error: webUrl: 'x' is not a URL [schema:format]",
        "records/b.md:27:10: warning: images[0].url: has '&#038;' [html-entity]",
        "records/c.md: error: cannot read file [unreadable]",
    ]


def test_summary_sentences() -> None:
    assert SUMMARY.sentence() == "3 files checked: 2 invalid files, 2 errors, 1 warning."
    assert Summary(1, 0, 0, 0, False).sentence() == "1 file checked: all valid."
    assert Summary(2, 0, 0, 3, False).sentence() == "2 files checked: all valid (3 warnings)."


def test_json_shape() -> None:
    document = json.loads(as_json([ERROR, WARNING, WHOLE_FILE], SUMMARY))
    assert document == {
        "version": 1,
        "diagnostics": [
            {
                "file": "records/a.md",
                "line": 5,
                "column": 9,
                "field": "webUrl",
                "rule": "schema:format",
                "message": "'x' is not a URL",
                "severity": "error",
            },
            {
                "file": "records/b.md",
                "line": 27,
                "column": 10,
                "field": "images[0].url",
                "rule": "html-entity",
                "message": "has '&#038;'",
                "severity": "warning",
            },
            {
                "file": "records/c.md",
                "line": None,
                "column": None,
                "field": "",
                "rule": "unreadable",
                "message": "cannot read file",
                "severity": "error",
            },
        ],
        "summary": {
            "files": 3,
            "invalid_files": 2,
            "errors": 2,
            "warnings": 1,
            "strict": False,
            "valid": False,
        },
    }


def test_github_annotations() -> None:
    assert list(github_lines([ERROR, WARNING, WHOLE_FILE])) == [
        "::error file=records/a.md,line=5,col=9,title=feeds schema%3Aformat in webUrl::"
        "webUrl: 'x' is not a URL",
        "::warning file=records/b.md,line=27,col=10,title=feeds html-entity in images[0].url::"
        "images[0].url: has '&#038;'",
        "::error file=records/c.md,title=feeds unreadable::cannot read file",
    ]


def test_github_escaping_of_data_and_properties() -> None:
    awkward = Diagnostic("a,b:c%.md", 1, 2, "", "r", "100% sure\r\nnext: line, too")
    (line,) = github_lines([awkward])
    assert line == (
        "::error file=a%2Cb%3Ac%25.md,line=1,col=2,title=feeds r::100%25 sure%0D%0Anext: line, too"
    )


def test_colour_only_on_a_terminal(tmp_path: Path, write_record: RecordFactory) -> None:
    path = write_record("a.md", webUrl="ftp://x.example/")
    runner = CliRunner()
    coloured = runner.invoke(main, ["validate", str(path)], color=True)
    plain = runner.invoke(main, ["validate", str(path)], color=False)
    assert coloured.exit_code == plain.exit_code == 1
    assert "\x1b[31m" in coloured.output  # red "error:"
    assert "\x1b[" not in plain.output
    assert click_unstyle(coloured.output) == plain.output


def test_cli_json_and_github(tmp_path: Path, write_record: RecordFactory) -> None:
    write_record("bad.md", webUrl="javascript:alert(1)")
    write_record("good.md", webUrl="https://news.example.com/good/")
    result = feeds("validate", "--format", "json", "records", cwd=tmp_path)
    assert result.returncode == 1
    document = json.loads(result.stdout)
    (problem,) = document["diagnostics"]
    assert (problem["file"], problem["field"], problem["severity"]) == (
        "records/bad.md",
        "webUrl",
        "error",
    )
    assert document["summary"]["files"] == 2 and document["summary"]["valid"] is False

    result = feeds("validate", "--format", "github", "records", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("::error file=records/bad.md,line=")
    assert len(result.stdout.splitlines()) == 1
