"""Where the time of a cold build goes, phase by phase, without a profiler's overhead.

    python bench/phases.py CORPUS_FOLDER

Runs the same steps as ``feeds build`` (serially, without the cache) and prints the wall
time of each: reading files, YAML, schema, article graph, feed plan, rendering, writing.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from feeds.articles import PublishedRecord, build_graph, is_published
from feeds.config import Config
from feeds.output import write_tree
from feeds.plan import plan_feeds
from feeds.publish import publish
from feeds.records import discover, parse_record
from feeds.sanitize import clean_articles
from feeds.schema import load_schema


def main(argv: list[str]) -> int:
    source = Path(argv[0])
    times: dict[str, float] = {}

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        times[name] = times.get(name, 0.0) + time.perf_counter() - start

    with phase("startup: schema"):
        schema = load_schema()
    with phase("discover"):
        paths, _ = discover([source])
    with phase("read files"):
        raw = [(p.as_posix(), p.read_bytes()) for p in paths]
    with phase("parse (front matter + YAML)"):
        loaded = [parse_record(name, data) for name, data in raw]
    valid = []
    with phase("schema"):
        for item in loaded:
            if item.record is not None and not item.diagnostics and not schema.check(item.record):
                valid.append(PublishedRecord(item.file, item.record.data))
    published = [record for record in valid if is_published(record.data)]
    with phase("article graph"):
        graph = clean_articles(build_graph(published))
    config = Config()
    with phase("feed plan"):
        plan = plan_feeds(graph, config.entries_per_feed)
    with phase("render (feedgen)"):
        files = [(d.path, d.content) for d in publish(plan, config)]
    with tempfile.TemporaryDirectory() as folder, phase("write"):
        write_tree(Path(folder) / "out", files)
    total = sum(times.values())
    print(f"{len(paths)} records, {len(plan.feeds)} feeds, {len(files)} files")
    for name, seconds in times.items():
        print(f"{name:30} {seconds:8.2f} s {seconds / total:6.0%}")
    print(f"{'total':30} {total:8.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
