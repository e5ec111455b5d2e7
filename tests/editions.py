"""Editions of a plain corpus: the same records with every title changed, so two builds
differ in every file (what the fault tests need to tell an old build from a new one)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import record_data, record_text

TOPICS = ["AI", "Computer Vision", "Robotics", "Privacy", "Policy", "Chips", "Cloud", "Games"]
PROVIDERS = [(f"Paper {n}", f"paper{n}.example") for n in range(12)]


def write_editions(folder: Path, count: int, edition: int = 1) -> None:
    """``count`` valid records; another ``edition`` changes every title and excerpt, so its
    feeds differ from the first edition's in every file."""
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.md"):
        stale.unlink()
    for n in range(count):
        name, domain = PROVIDERS[n % len(PROVIDERS)]
        data = record_data(
            title=f"Story {n}, edition {edition}",
            excerpt=f"What happened in story {n} & why it matters (edition {edition}).",
            webUrl=f"https://{domain}/2021/{n:05d}/story",
            publishedDateTime=f"2021-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
            provider={"name": name, "domain": domain},
            topics=[TOPICS[n % len(TOPICS)], TOPICS[(n * 7 + 3) % len(TOPICS)]],
            related=[
                {
                    "title": f"Background {n}",
                    "publishedDateTime": "2020-12-31T12:00:00Z",
                    "webUrl": f"https://background.example/{n}",
                    "provider": {"name": "Background", "domain": "background.example"},
                }
            ],
        )
        (folder / f"{n:05d}.md").write_text(record_text(data), "utf-8")
