"""``bench/run.py --corpus`` times a folder of records of your own as feeds reads it: in
subfolders too, laid out as they are, and every reference reads the files feeds reads."""

from __future__ import annotations

import re
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import frontmatter
import pytest
import yaml

from feeds.api import validate
from tests.conftest import REPO, bench_module, corpus_module

RECORDS = 110  # more than the 100 that one run holds back, to add them


run = bench_module("run")
hugo_site = bench_module("hugo_site")
othershape = bench_module("othershape")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Records of the bench corpus kept by year and month, as an archive may keep them, with
    names that repeat from one folder to the next, beside files feeds does not read."""
    flat, nested = tmp_path / "flat", tmp_path / "archive"
    corpus_module().Corpus(seed=5).write(flat, RECORDS)
    for index, path in enumerate(sorted(flat.iterdir())):
        folder = nested / f"{2020 + index % 3}" / f"{index % 2 + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.move(path, folder / f"{index // 6:03d}{path.suffix}")
    (nested / "README.rst").write_text("not a record\n")
    (nested / ".hidden.md").write_text("---\ntitle: hidden\n---\n")
    (nested / ".git").mkdir()
    (nested / ".git" / "HEAD.md").write_text("---\ntitle: hidden\n---\n")
    return nested


def _relative(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.*"))


def test_own_corpus_in_subfolders_is_copied_as_it_is_laid_out(source: Path, tmp_path: Path) -> None:
    setup = run.own(source, tmp_path / "work", 1)
    every = run.record_files(source)
    assert len(every) == RECORDS
    assert every[0].startswith("2020/01/")  # by path, as feeds orders them
    kept, held = every[:-100], every[-100:]
    assert _relative(setup.corpus) == sorted(kept)
    assert setup.count == len(kept) and setup.scale == RECORDS
    for name in kept:
        assert (setup.corpus / name).read_bytes() == (source / name).read_bytes()

    setup.add(0)
    assert _relative(setup.corpus) == sorted(every)
    assert setup.batch(0) == [setup.corpus / name for name in held]
    assert all(
        path.read_bytes() == (source / path.relative_to(setup.corpus)).read_bytes()
        for path in setup.batch(0)
    )


def test_the_record_changed_takes_the_change_and_stays_valid(source: Path, tmp_path: Path) -> None:
    setup = run.own(source, tmp_path / "work", 1)
    raw = setup.victim.read_bytes()
    name = setup.victim.relative_to(setup.corpus).as_posix()
    schema = run.load_schema()
    before = hugo_site.valid_record(name, raw, schema)
    after = hugo_site.valid_record(name, run.changed(raw, 2), schema)
    assert before is not None and after is not None
    assert after.data["title"].startswith("v2 ")
    assert after.data["title"] != before.data["title"]


def test_a_title_that_would_not_take_the_change_is_passed_over(tmp_path: Path) -> None:
    corpus = tmp_path / "records"
    corpus.mkdir()
    shutil.copyfile(REPO / "seeds" / "000_1f48a30587e22eab.txt", corpus / "b.txt")
    raw = (corpus / "b.txt").read_bytes()
    # Quoted, with a colon and a space in it: after "v0 " it is plain text, and no longer YAML.
    with_colon = raw.replace(b'\ntitle: "', b'\ntitle: "Breaking: ', 1)
    (corpus / "a.txt").write_bytes(with_colon)
    assert run.changeable(corpus, ["a.txt", "b.txt"]) == corpus / "b.txt"
    assert run.changeable(corpus, ["b.txt", "a.txt"]) == corpus / "b.txt"


def test_the_bare_read_reads_the_files_feeds_reads(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str] = []
    monkeypatch.setattr(frontmatter, "load", loaded.append)
    monkeypatch.setattr(sys, "argv", ["-c", str(source)])
    exec(run.FRONTMATTER_READ, {})  # the script the benchmark runs, as it runs it
    assert [Path(path).relative_to(source).as_posix() for path in loaded] == run.record_files(
        source
    )


@pytest.mark.parametrize("every_article", [False, True])
def test_the_hugo_site_has_a_page_per_valid_record_in_subfolders_too(
    source: Path, tmp_path: Path, every_article: bool
) -> None:
    site = tmp_path / "site"
    written = hugo_site.make_site(source, site, every_article=every_article)
    schema = run.load_schema()
    valid = [
        name
        for name in run.record_files(source)
        if hugo_site.valid_record(name, (source / name).read_bytes(), schema) is not None
    ]
    pages = sorted((site / "content" / "posts").iterdir())
    records = [page for page in pages if not page.name.startswith("cited-")]
    assert len(records) == len(valid) > RECORDS // 2  # names repeat across folders: none lost
    assert written == len(pages)
    assert (len(pages) > len(records)) == every_article


def test_a_generated_corpus_is_written_again_when_the_generator_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    shutil.copyfile(REPO / "bench" / "corpus.py", bench / "corpus.py")
    monkeypatch.setattr(run, "BENCH", bench)
    setup = run.generated(tmp_path, 4, 5, "hand")
    setup.victim.write_text("edited by hand\n")
    assert run.generated(tmp_path, 4, 5, "hand").victim.read_text() == "edited by hand\n"
    with (bench / "corpus.py").open("a") as generator:
        generator.write("# changed\n")
    assert run.generated(tmp_path, 4, 5, "hand").victim.read_text() != "edited by hand\n"


def _matter(path: Path) -> Any:
    """The front matter of a record of either corpus, as YAML reads it (past a byte order
    mark, with lines ended either way)."""
    text = path.read_text("utf-8-sig").replace("\r\n", "\n")
    return yaml.safe_load(text.split("---\n")[1])


def _front_matter(path: Path) -> dict[str, Any] | None:
    """The front matter of a record of the corpus; ``None`` for one it breaks on purpose."""
    try:
        matter = _matter(path)
    except yaml.YAMLError:
        return None
    return matter if isinstance(matter, dict) and "publishedDateTime" in matter else None


def test_records_added_newest_are_dated_after_every_record_before_them(tmp_path: Path) -> None:
    corpus = corpus_module()
    plain, newest = tmp_path / "plain", tmp_path / "newest"
    corpus.main(["90", str(plain)])
    corpus.main(["60", str(newest)])
    corpus.main(["90", str(newest), "--start", "60", "--newest"])
    names = sorted(path.name for path in plain.iterdir())
    assert names == sorted(path.name for path in newest.iterdir())
    assert all((plain / name).read_bytes() == (newest / name).read_bytes() for name in names[:60])
    old = {name: _front_matter(newest / name) for name in names[:60]}
    by_url = {matter["webUrl"]: matter for matter in old.values() if matter is not None}
    latest = max(matter["publishedDateTime"] for matter in by_url.values())
    added = [matter for name in names[60:] if (matter := _front_matter(newest / name))]
    assert len(added) >= 25
    dates = [matter["publishedDateTime"] for matter in added]
    assert latest < dates[0] and dates == sorted(dates)
    cited_old = 0
    for matter in added:
        for item in matter.get("related") or []:
            cited = by_url.get(item["webUrl"])
            if cited is not None:  # a record of the corpus keeps its date where it is cited
                cited_old += 1
                assert item["publishedDateTime"] == cited["publishedDateTime"]
            elif item["webUrl"] not in {other["webUrl"] for other in added}:
                # an article without a record: reported within days of the record citing it
                apart = item["publishedDateTime"] - matter["publishedDateTime"]
                assert abs(apart.total_seconds()) <= 5 * 24 * 3600
    assert cited_old > 0
    # Without --newest, the same records are dated across the corpus's years.
    spread = [_front_matter(plain / name) for name in names[60:]]
    assert min(m["publishedDateTime"] for m in spread if m is not None) < latest


def test_the_corpus_of_another_shape_is_of_that_shape_and_the_same_each_time(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "other"
    othershape.write(60, folder, seed=7)
    names = run.record_files(folder)
    assert len(names) == 60 and all(name.count("/") == 2 for name in names)
    raw = [(folder / name).read_bytes() for name in names]
    assert any(b"\r\n" in text for text in raw)
    assert any(text.startswith("\ufeff".encode()) for text in raw)
    assert any(re.search(rb"\nwebUrl: https://\S*[\x80-\xff]", text) for text in raw)
    report = validate([folder])
    assert len(report.files) == 60 and sum(not f.valid for f in report.files) < 10
    othershape.write(60, tmp_path / "again", seed=7)
    assert [(tmp_path / "again" / name).read_bytes() for name in names] == raw


def _cited_records(folder: Path) -> list[int]:
    """How many records of the corpus each record of ``folder`` cites."""
    counts = []
    for name in run.record_files(folder):
        matter = _matter(folder / name)
        related = matter.get("related") or []
        counts.append(sum("elsewhere.example.com" not in item["webUrl"] for item in related))
    return counts


def test_the_corpus_of_another_shape_cites_as_many_records_as_asked(tmp_path: Path) -> None:
    default, busy = tmp_path / "default", tmp_path / "busy"
    othershape.main(["40", str(default)])
    othershape.main(["40", str(busy), "--related", "8", "12"])
    assert min(_cited_records(default)) < 7 and max(_cited_records(default)) <= 12
    assert min(_cited_records(busy)) >= 7 and max(_cited_records(busy)) <= 12
    size = sum(len((busy / name).read_bytes()) for name in run.record_files(busy)) / 40
    assert 7_000 < size < 12_000  # about 9 KB, as the docstring says
    with pytest.raises(SystemExit):
        othershape.main(["40", str(tmp_path / "odd"), "--related", "5", "2"])


def test_the_corpus_of_another_shape_draws_from_as_many_topics_and_providers_as_asked(
    tmp_path: Path,
) -> None:
    """Thousands make thousands of feeds that each list a few articles over years."""
    folder = tmp_path / "few"
    othershape.main(["60", str(folder), "--topics", "3", "--providers", "2"])
    topics: set[str] = set()
    providers: set[str] = set()
    for name in run.record_files(folder):
        matter = _matter(folder / name)
        topics.update(matter["topics"])
        providers.add(matter["provider"]["name"])
    assert len(topics - {"Économie", "Science & Tech", "AI", "C++", "日本"}) == 3
    assert len(providers) == 2
    many = tmp_path / "many"
    othershape.write(60, many, seed=7, topics=3000, providers=5000)
    assert len(run.record_files(many)) == 60
    for wrong in (["--providers", "0"], ["--topics", "-1"]):
        with pytest.raises(SystemExit):
            othershape.main(["40", str(tmp_path / "odd"), *wrong])


def _cited_elsewhere(folder: Path) -> Counter[str]:
    """How many records of ``folder`` cite each article that has no record."""
    cited: Counter[str] = Counter()
    for name in run.record_files(folder):
        text = (folder / name).read_text("utf-8-sig")
        cited.update(re.findall(r"https://elsewhere\.example\.com/\d+", text))
    return cited


def test_the_corpus_of_another_shape_has_as_many_widely_cited_articles_as_asked(
    tmp_path: Path,
) -> None:
    default, few = tmp_path / "default", tmp_path / "few"
    othershape.main(["90", str(default)])
    othershape.main(["90", str(few), "--widely-cited", "2"])
    assert len(_cited_elsewhere(few)) == 2 and min(_cited_elsewhere(few).values()) >= 8
    assert len(_cited_elsewhere(default)) > 10  # each once, mostly
    # The other records as they were: only those articles differ.
    for name in run.record_files(default):
        same = (default / name).read_bytes() == (few / name).read_bytes()
        assert same or b"elsewhere.example.com" in (default / name).read_bytes()
    with pytest.raises(SystemExit):
        othershape.main(["40", str(tmp_path / "odd"), "--widely-cited", "0"])


def test_a_command_that_takes_more_memory_than_it_may_is_stopped(tmp_path: Path) -> None:
    """As a reference is, when it would take more than the machine has (``memory_left``):
    killed at once, and left out of the results with why; one that takes less runs on."""
    hungry = "import time; held = b'x' * (200 * 2**20); time.sleep(60)"
    started = time.perf_counter()
    with pytest.raises(run.CommandFailed) as failed:
        run.run([sys.executable, "-c", hungry], tmp_path, memory_cap=100 * 2**20)
    assert time.perf_counter() - started < 30
    assert re.fullmatch(r"stopped at \d+ MB, more than the machine had available", failed.value.why)
    _, peak = run.run([sys.executable, "-c", "pass"], tmp_path, memory_cap=500 * 2**20)
    assert 0 < peak < 500
    left = run.memory_left()
    assert left is None or left >= run.MEMORY_MARGIN
