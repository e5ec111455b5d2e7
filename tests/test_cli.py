"""The command line, as a publisher runs it: real processes, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from feeds.cli import _exit_code
from tests.cli import assert_no_traceback, feeds
from tests.conftest import SEEDS, RecordFactory, tree

GOOD_SEEDS = [
    "000_1f48a30587e22eab.txt",
    "001_91d0330d6071329f.txt",
    "002_f2649b43c12eaf2a.txt",
    "003_12ead75e1d8571b3.txt",
]


ENTITY_WARNING = (
    "warning: {field}: URL contains the HTML entity '&#038;'; URLs in records are plain text, "
    "so write '&' instead [html-entity]"
)


def test_validate_seeds_names_004_only(project: Path) -> None:
    result = feeds("validate", "seeds", cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "seeds/000_1f48a30587e22eab.txt:27:10: " + ENTITY_WARNING.format(field="images[0].url"),
        "seeds/002_f2649b43c12eaf2a.txt:236:14: "
        + ENTITY_WARNING.format(field="related[12].images[0].url"),
        "seeds/004_0896647a9e7e4cea.txt:1:1: error: no front matter: a record starts with a "
        "'---' line, then YAML fields, then '---' [front-matter]",
    ]
    assert result.stderr == "5 files checked: 1 invalid file, 1 error, 2 warnings.\n"


def test_validate_defaults_to_seeds(project: Path) -> None:
    result = feeds("validate", cwd=project)
    assert result.returncode == 1
    assert "004_0896647a9e7e4cea.txt" in result.stdout


def test_validate_good_seeds_exits_0_with_warnings(project: Path) -> None:
    result = feeds("validate", *(f"seeds/{name}" for name in GOOD_SEEDS), cwd=project)
    assert result.returncode == 0
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        "seeds/000_1f48a30587e22eab.txt",
        "seeds/002_f2649b43c12eaf2a.txt",
    ]
    assert result.stderr == "4 files checked: all valid (2 warnings).\n"


def test_strict_counts_warnings_as_errors(project: Path) -> None:
    result = feeds("validate", "--strict", "seeds/000_1f48a30587e22eab.txt", cwd=project)
    assert result.returncode == 1
    assert result.stdout.startswith("seeds/000_1f48a30587e22eab.txt:27:10: error: images[0].url")
    assert result.stderr == "1 file checked: 1 invalid file, 1 error.\n"


def test_validate_reports_every_problem_with_file_line_and_field(
    tmp_path: Path, write_record: RecordFactory
) -> None:
    write_record("a.md", webUrl="ftp://a.com/x", topics=[])
    write_record("b.md", "---\ntitle: [\n---\n")
    result = feeds("validate", "records", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(
        "records/a.md:5:9: error: webUrl: 'ftp://a.com/x' is not an absolute"
    )
    assert lines[0].endswith(" [schema:format]")
    assert lines[1].startswith("records/a.md:") and ": topics: must not be empty" in lines[1]
    assert lines[2].startswith("records/b.md:3:") and "invalid YAML" in lines[2]
    assert result.stderr == "2 files checked: 2 invalid files, 3 errors.\n"
    assert "\x1b[" not in result.stdout  # no colour when the output is not a terminal
    assert_no_traceback(result)


def test_validate_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    result = feeds("validate", "nowhere", cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr
    assert_no_traceback(result)


def test_validate_without_paths_or_seeds_is_a_usage_error(tmp_path: Path) -> None:
    result = feeds("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "seeds" in result.stderr


def test_build_on_seeds(project: Path) -> None:
    result = feeds("build", cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[:3] == [
        "seeds/000_1f48a30587e22eab.txt:27:10: warning: images[0].url: URL contains the HTML "
        "entity '&#038;'; URLs in records are plain text, so write '&' instead",
        "seeds/002_f2649b43c12eaf2a.txt:236:14: warning: related[12].images[0].url: URL contains "
        "the HTML entity '&#038;'; URLs in records are plain text, so write '&' instead",
        "skipped seeds/004_0896647a9e7e4cea.txt:1:1: no front matter: a record starts with a "
        "'---' line, then YAML fields, then '---'",
    ]
    assert result.stdout == (
        "Wrote 7 feeds (25 files) to out/: 4 articles from 2 published records "
        "(2 unpublished, 1 invalid, skipped).\n"
    )
    assert (project / "out" / "topics" / "computer-vision.atom.xml").is_file()
    again = feeds("build", cwd=project)
    assert again.stderr == result.stderr  # the same problems, said again
    assert again.stdout == (
        "Up to date, nothing written: 7 feeds (25 files) in out/: 4 articles from 2 published "
        "records (2 unpublished, 1 invalid, skipped).\n"
    )


def test_build_strict_fails_when_records_were_skipped(project: Path) -> None:
    result = feeds("build", "--strict", cwd=project)
    assert result.returncode == 1
    assert (project / "out" / "all.rss.xml").is_file()  # still published what was valid


def test_build_options_override_settings(project: Path) -> None:
    (project / "feeds.toml").write_text('title = "From file"\nentries_per_feed = 3\n')
    result = feeds(
        "build",
        "--out",
        "public",
        "--base-url",
        "https://news.example.com/feeds",
        "--entries",
        "1",
        cwd=project,
    )
    assert result.returncode == 0, result.stderr
    atom = (project / "public" / "all.atom.xml").read_text()
    assert "<title>From file</title>" in atom
    assert 'href="https://news.example.com/feeds/all.atom.xml" rel="self"' in atom
    assert atom.count("<entry>") == 1


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ('entries_per_feed = "many"', "entries_per_feed must be int"),
        ("entries_per_feed = 0", "entries_per_feed must be from 1"),
        ('base_url = "ftp://x"', "base_url"),
        ('colour = "blue"', "unknown setting 'colour'"),
        ("title = ", "not valid TOML"),
        ('description = ""', "description must not be empty"),
        ('title = "News\\u0007"', "title contains the character U+0007"),
        ('language = "english please"', "language must be a language tag"),
    ],
)
def test_bad_settings_are_usage_errors(project: Path, setting: str, words: str) -> None:
    (project / "feeds.toml").write_text(setting + "\n")
    result = feeds("build", cwd=project)
    assert result.returncode == 2
    assert words in result.stderr
    assert_no_traceback(result)
    assert not (project / "out").exists()


def test_a_title_that_is_not_text_is_a_usage_error(project: Path) -> None:
    """Bytes that are not UTF-8 in an argument reach Python as lone surrogates."""
    result = subprocess.run(
        [sys.executable, "-m", "feeds", "build", "--title", b"caf\xe9"],
        cwd=project,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 2
    assert b"title contains the character U+DCE9" in result.stderr
    assert b"Traceback" not in result.stderr
    assert not (project / "out").exists()


def test_build_into_unwritable_place_is_a_clear_error(project: Path) -> None:
    (project / "blocker").write_text("a file")
    result = feeds("build", "--out", "blocker/out", cwd=project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith("error: ")
    assert "previous output is unchanged" in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        ('source = "sedes"', "the folder of records sedes does not exist"),
        (
            'source = "seeds/003_12ead75e1d8571b3.txt"',
            "the folder of records seeds/003_12ead75e1d8571b3.txt is not a folder",
        ),
    ],
)
def test_build_from_a_missing_folder_keeps_what_wastree(
    project: Path, setting: str, words: str
) -> None:
    assert feeds("build", cwd=project).returncode == 0
    before = tree(project / "out")
    (project / "feeds.toml").write_text(setting + "\n")
    result = feeds("build", cwd=project)
    assert result.returncode == 1
    assert result.stderr == f"error: {words}; the previous output is unchanged\n"
    assert tree(project / "out") == before


def test_build_from_an_unreadable_folder_keeps_what_wastree(project: Path) -> None:
    assert feeds("build", cwd=project).returncode == 0
    before = tree(project / "out")
    (project / "seeds").chmod(0)
    try:
        result = feeds("build", cwd=project, obey_permissions=True)
    finally:
        (project / "seeds").chmod(0o755)
    assert result.returncode == 1
    assert result.stderr == (
        "error: seeds: cannot read folder: Permission denied; the previous output is unchanged\n"
    )
    assert tree(project / "out") == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--out", "seeds"), "the output folder seeds is the folder of records seeds"),
        (("--out", "."), "the output folder . holds the folder of records seeds"),
        (
            ("--source", "site/records", "--out", "site"),
            "the output folder site holds the folder of records site/records",
        ),
        (
            ("--cache-dir", "out/cache"),
            "the output folder out holds the cache folder out/cache",
        ),
    ],
)
def test_build_refuses_an_output_folder_it_would_lose_records_in(
    project: Path, args: tuple[str, ...], words: str
) -> None:
    """A mistyped ``--out`` must never cost a publisher their records: the output folder is
    replaced as a whole."""
    (project / "site").mkdir()
    (project / "seeds").rename(project / "site" / "records")
    (project / "seeds").symlink_to(project / "site" / "records")
    before = tree(project)
    result = feeds("build", *args, cwd=project)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: {words}, and a build replaces its output folder as a whole: choose another "
        "output folder; nothing was written\n"
    )
    assert_no_traceback(result)
    assert tree(project) == before  # nothing written: no output, no cache, no lock


def test_build_through_a_link_to_the_served_folder(project: Path) -> None:
    """The folder a link names is replaced, as a cached build replaces any output: the link
    stays, and the build's own folders go beside the folder it points to."""
    served = project / "www" / "feeds"
    served.mkdir(parents=True)
    (project / "out").symlink_to(served)
    first = feeds("build", cwd=project)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Wrote 7 feeds (25 files) to www/feeds/: ")
    again = feeds("build", "--title", "Again", cwd=project)
    assert again.returncode == 0, again.stderr
    assert (project / "out").is_symlink()
    assert b"\n  <title>Again</title>\n" in (served / "all.atom.xml").read_bytes()
    assert sorted(path.name for path in served.parent.iterdir()) == [
        ".feeds.lock",
        ".previous-feeds",
        "feeds",
    ]

    (project / "loop").symlink_to(project / "loop")
    (project / "out").unlink()
    (project / "out").symlink_to(project / "loop")
    looped = feeds("build", cwd=project)
    assert looped.returncode == 1
    assert looped.stderr == (
        "error: the output folder out is a loop of symbolic links; nothing was written\n"
    )


def test_build_refuses_a_folder_of_files_it_did_not_write(project: Path) -> None:
    (project / "public").mkdir()
    (project / "public" / "CNAME").write_text("news.example.com\n")
    result = feeds("build", "--out", "public", cwd=project)
    assert result.returncode == 1
    assert "holds files that feeds did not write (it has no feeds.opml)" in result.stderr
    assert result.stderr.endswith("or empty this one; nothing was written\n")
    assert_no_traceback(result)
    assert tree(project / "public") == {"CNAME": b"news.example.com\n"}


def test_version_and_help(tmp_path: Path) -> None:
    assert feeds("--version", cwd=tmp_path).stdout.startswith("feeds, version ")
    help_text = feeds("--help", cwd=tmp_path).stdout
    assert "validate" in help_text and "build" in help_text


def test_seeds_are_the_shared_samples_unchanged() -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("the shared seeds are not beside this checkout")
    for original in shared.iterdir():
        assert (SEEDS / original.name).read_bytes() == original.read_bytes()


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        (("build", "--out", "out"), 0, "Wrote 7 feeds"),
        (("build", "--out", "out", "--strict"), 1, "Wrote 7 feeds"),
        (("validate", "seeds"), 1, "seeds/004_0896647a9e7e4cea.txt:1:1: error"),
        (("build", "--nope"), 2, "No such option"),
    ],
)
def test_the_command_ends_without_freeing_yet_says_everything(
    project: Path, args: tuple[str, ...], code: int, said: str
) -> None:
    """The ``feeds`` command ends its process at once (no exit handlers run), after its
    output is flushed to the pipe it goes to, with its exit code."""
    script = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('exit handlers ran'))\n"
        "from feeds.cli import run\n"
        f"sys.argv = ['feeds', *{list(args)!r}]\n"
        "run()\n"
    )
    result = _python(script, cwd=project)
    assert_no_traceback(result)
    assert result.returncode == code
    assert said in result.stdout + result.stderr
    assert "exit handlers ran" not in result.stdout


def _python(script: str, *, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a Python process of its own, as ``feeds`` runs."""
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("value", "code"), [(None, 0), (0, 0), (3, 3), ("gone wrong", 1)])
def test_exit_codes_are_those_python_gives(
    value: int | str | None, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(SystemExit(value)) == code
    assert capsys.readouterr().err == ("gone wrong\n" if value == "gone wrong" else "")


# Room enough for any command on the seeds, and little enough that a command filling the
# memory of the machine fails within seconds, where the machine would otherwise stall.
_ADDRESS_SPACE = 2 << 30


@pytest.mark.parametrize(
    ("command", "code", "said"),
    [
        ("validate", 1, "5 files checked: 1 invalid file"),
        ("build", 0, "Wrote 7 feeds (25 files) to out/"),
    ],
)
def test_a_warning_from_a_library_is_shown_once_and_the_command_goes_on(
    project: Path, command: str, code: int, said: str
) -> None:
    """A warning that is not about the cache (a library's, say) is shown once, as Python
    shows it, and the command ends as it would without it.  Shown while warnings were
    recorded, each was recorded again, and the command grew until the system killed it.
    One that Python hides, as it hides a library's deprecation, stays hidden."""
    script = (
        "import resource, sys, warnings\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({_ADDRESS_SPACE}, {_ADDRESS_SPACE}))\n"
        "import feeds.api\n"
        f"real = feeds.api.{command}\n"
        "def noisy(*args, **kwargs):\n"
        "    warnings.warn('call me otherwise', UserWarning)\n"
        "    warnings.warn_explicit('old ways', DeprecationWarning, 'lib.py', 1, module='lib')\n"
        "    return real(*args, **kwargs)\n"
        f"feeds.api.{command} = noisy\n"
        "from feeds.cli import run\n"
        f"sys.argv = ['feeds', {command!r}]\n"
        "run()\n"
    )
    result = _python(script, cwd=project)
    assert_no_traceback(result)
    assert result.returncode == code, result.stderr[-2000:]
    assert result.stderr.count("UserWarning: call me otherwise") == 1
    assert "old ways" not in result.stderr
    assert said in result.stdout + result.stderr


def _without_standard_output() -> None:
    os.close(1)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("validate", f"seeds/{GOOD_SEEDS[0]}"), "1 file checked: all valid"),
        (("build",), "skipped seeds/004_0896647a9e7e4cea.txt"),
    ],
)
def test_a_command_started_without_standard_output_fails_without_a_traceback(
    project: Path, args: tuple[str, ...], said: str
) -> None:
    """Started with its standard output closed (``>&-``), the command says on its error
    stream what it says there, and exits 1 however it went: what it had to say on the
    other is lost, as when that is a pipe closed early.  (It ended with a traceback.)"""
    result = subprocess.run(
        [sys.executable, "-m", "feeds", *args],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_without_standard_output,
    )
    assert "Traceback" not in result.stderr
    assert said in result.stderr
    assert result.returncode == 1
