"""A deterministic corpus of seed-shaped records, for benchmarks and scale tests.

    python bench/corpus.py N DEST [--seed S] [--start K] [--written-by STYLE] [--newest]

writes records ``K .. N-1`` into ``DEST``.  Every record is drawn from a random generator
seeded by ``(S, its index)`` and cites only records with a smaller index, so the corpus of
``N + 100`` records is the corpus of ``N`` plus 100 new files: that is how the benchmark
"adds 100 records" (``--start N``).  Those are dated anywhere in the corpus's four years, as
its other records are, so most fall among archived entries.  With ``--newest``, the records
written (from ``K`` on) are dated after every record before them, one every few minutes, as a
news desk adds them; the records before ``K`` are the same either way.

Shape, after the real records in ``seeds/``: about 10 KB of front matter, about ten related
articles each (some of which are other records of the corpus), providers with a heavy-tailed
distribution, a few dozen topics, Unicode titles, about 3% unpublished records and about 1%
invalid ones of various kinds.

Records are written by hand, in the style of the seeds (text in double quotes, on one line),
or, with ``--written-by python-frontmatter``, as a publisher's script that loads and dumps
them with python-frontmatter would write them: keys sorted, long text folded over several
lines, dates unquoted with a space; with ``--written-by python-frontmatter-flow``, the same
with ``default_flow_style=None`` (PyYAML's default before 5.1), which writes lists and
mappings of plain values in flow style: ``topics: [AI, Robotics]``,
``{url: '...', width: 50, height: 50}``; with ``--written-by python-frontmatter-shared``, the
same as a script that keeps one mapping per provider would, so that PyYAML writes each
provider once with an anchor and then as aliases: ``provider: &id001`` … ``provider: *id001``;
with ``--written-by ruamel.yaml``, as a script that dumps the same data with ruamel.yaml:
text plain where it can be, lines of long text ending in a space, and a value whose first
word does not fit on its key's line (a long URL) on the line below the key.
Invalid records stay written by hand in all of them, so that each is broken in the same way.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import random
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_SEED = 5
START = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_MINUTES = 4 * 365 * 24 * 60
NEWEST_EVERY_MINUTES = 7  # between two records written --newest
UNPUBLISHED_SHARE = 0.03
INVALID_SHARE = 0.01
CITE_RECORD_SHARE = 0.3  # of related articles, the share that are records of the corpus

TOPICS = [
    "AI",
    "Computer Vision",
    "Machine Learning",
    "Robotics",
    "Privacy",
    "Cloud Computing",
    "Cybersecurity",
    "Semiconductors",
    "Quantum Computing",
    "Open Source",
    "Space",
    "Climate Tech",
    "Electric Vehicles",
    "Biotech",
    "Health Tech",
    "Fintech",
    "Crypto",
    "Social Media",
    "Gaming",
    "Smartphones",
    "Wearables",
    "Regulation",
    "Antitrust",
    "Startups",
    "Venture Capital",
    "Telecom",
    "5G",
    "Data Centers",
    "Autonomous Driving",
    "Drones",
    "AR/VR",
    "Natural Language Processing",
    "Künstliche Intelligenz",
    "Intelligence artificielle",
    "Éthique",
    "人工知能",
    "Робототехника",
    "Ciencia de datos",
]

_WORDS = [
    "facial",
    "recognition",
    "police",
    "ban",
    "bias",
    "study",
    "company",
    "market",
    "cloud",
    "model",
    "chip",
    "data",
    "privacy",
    "regulators",
    "lawsuit",
    "launch",
    "startup",
    "funding",
    "round",
    "billion",
    "users",
    "platform",
    "update",
    "security",
    "breach",
    "researchers",
    "network",
    "quantum",
    "robot",
    "drone",
    "vehicle",
    "battery",
    "satellite",
    "open",
    "source",
    "developers",
    "benchmark",
    "training",
    "inference",
    "accuracy",
    "algorithm",
    "dataset",
    "congress",
    "europe",
    "china",
    "court",
    "antitrust",
    "deal",
    "acquisition",
    "revenue",
    "quarter",
    "growth",
    "layoffs",
    "hiring",
]
_UNICODE_WORDS = [
    "café",
    "naïve",
    "Zürich",
    "São Paulo",
    "Ελλάδα",
    "東京",
    "München",
    "façade",
    "Kraków",
    "Москва",
    "€2bn",
    "—",
    "“quoted”",
    "it\u2019s",
    "🚀",
]
_PROVIDER_PARTS = [
    "Daily",
    "Tech",
    "Wire",
    "Post",
    "Times",
    "Herald",
    "Review",
    "Journal",
    "Insider",
    "Digital",
    "Report",
    "Observer",
    "News",
    "Signal",
    "Ledger",
    "Gazette",
    "Monitor",
    "Chronicle",
    "Register",
    "Bulletin",
    "Byte",
    "Circuit",
    "Silicon",
    "Future",
    "Next",
]

# Kinds of invalid record, each a different rule of the validator.
INVALID_KINDS = [
    "missing-title",
    "bad-date",
    "no-timezone",
    "bad-url",
    "yaml-syntax",
    "duplicate-key",
    "no-front-matter",
    "wrong-type",
    "empty-topics",
    "bad-related",
]


@dataclass(frozen=True)
class Provider:
    name: str
    domain: str


@dataclass(frozen=True)
class Meta:
    """What other records need to know of a record to cite it."""

    index: int
    title: str
    url: str
    provider: Provider
    published: datetime


def providers(seed: int, count: int = 400) -> list[Provider]:
    rng = random.Random(f"{seed}:providers")
    out: list[Provider] = []
    seen: set[str] = set()
    while len(out) < count:
        name = " ".join(rng.sample(_PROVIDER_PARTS, rng.choice((1, 2, 2, 3))))
        domain = name.lower().replace(" ", "") + rng.choice((".com", ".net", ".org", ".co.uk"))
        if domain in seen:
            continue
        seen.add(domain)
        out.append(Provider(name, domain))
    return out


WRITERS = (
    "hand",
    "python-frontmatter",
    "python-frontmatter-flow",
    "python-frontmatter-shared",
    "ruamel.yaml",
)


class Corpus:
    def __init__(
        self, seed: int = DEFAULT_SEED, written_by: str = "hand", newest_from: int | None = None
    ) -> None:
        """``newest_from``: records of that index on are dated after every record before
        it, in the order of their index (see ``--newest``)."""
        if written_by not in WRITERS:
            raise ValueError(f"records are written by one of {', '.join(WRITERS)}")
        self.seed = seed
        self.written_by = written_by
        self.newest_from = newest_from
        self.providers = providers(seed)
        # Heavy tail: the k-th provider is chosen with weight 1/k^1.1 (Zipf-like).
        weights = [1 / (k + 1) ** 1.1 for k in range(len(self.providers))]
        total = sum(weights)
        self._cumulative = []
        running = 0.0
        for weight in weights:
            running += weight / total
            self._cumulative.append(running)

    def provider(self, rng: random.Random) -> Provider:
        pick = rng.random()
        low, high = 0, len(self._cumulative) - 1
        while low < high:
            middle = (low + high) // 2
            if self._cumulative[middle] < pick:
                low = middle + 1
            else:
                high = middle
        return self.providers[low]

    def title(self, rng: random.Random) -> str:
        words = rng.choices(_WORDS, k=rng.randint(6, 13))
        if rng.random() < 0.35:
            words.insert(rng.randrange(len(words)), rng.choice(_UNICODE_WORDS))
        text = " ".join(words)
        return text[0].upper() + text[1:]

    def meta(self, index: int) -> Meta:
        rng = random.Random(f"{self.seed}:meta:{index}")
        title = self.title(rng)
        provider = self.provider(rng)
        published = START + timedelta(minutes=rng.randrange(SPAN_MINUTES))
        if self.newest_from is not None and index >= self.newest_from:
            later = (index - self.newest_from + 1) * NEWEST_EVERY_MINUTES
            published = START + timedelta(minutes=SPAN_MINUTES + later)
        slug = "-".join(w for w in title.lower().split() if w.isascii() and w.isalnum())[:60]
        url = f"https://www.{provider.domain}/{published:%Y/%m/%d}/{slug}-{index}/"
        return Meta(index, title, url, provider, published)

    def file_name(self, index: int) -> str:
        digest = hashlib.sha256(f"{self.seed}:{index}".encode()).hexdigest()[:16]
        return f"{index:07d}_{digest}.txt"

    def record(self, index: int) -> str:
        """The text of record ``index``."""
        rng = random.Random(f"{self.seed}:record:{index}")
        meta = self.meta(index)
        topics = rng.sample(TOPICS, rng.choice((1, 2, 2, 2, 3, 3, 4)))
        published = rng.random() >= UNPUBLISHED_SHARE
        related = []
        for k in range(max(0, round(rng.gauss(10, 2.5)))):
            if index > 0 and rng.random() < CITE_RECORD_SHARE:
                # Mostly recent records, sometimes old ones.
                back = min(index, int(rng.paretovariate(0.8)))
                related.append(_article(rng, self.meta(index - back)))
            else:
                external = Meta(
                    -1,
                    self.title(rng),
                    "",
                    self.provider(rng),
                    meta.published + timedelta(minutes=rng.randint(-7200, 7200)),
                )
                slug = f"{index}-{k}-{rng.getrandbits(32):08x}"
                url = f"https://{external.provider.domain}/{external.published:%Y/%m}/{slug}/"
                related.append(_article(rng, Meta(-1, external.title, url, *_tail(external))))
        lines = [
            "---",
            "category: news",
            f"title: {_q(meta.title)}",
            f"excerpt: {_q(_sentence(rng, 20, 45))}",
            f"publishedDateTime: {_date(meta.published)}",
            f"webUrl: {_q(meta.url)}",
            f"ampWebUrl: {_q(meta.url + 'amp/')}",
            f"cdnAmpWebUrl: {_q(_cdn(meta.url))}",
            "type: article",
            f"quality: {rng.randint(20, 110)}",
            f"heat: {rng.choice((-1, rng.randint(0, 100)))}",
            f"published: {'true' if published else 'false'}",
            "",
            "provider:",
            f"  name: {_q(meta.provider.name)}",
            f"  domain: {meta.provider.domain}",
            "  images:",
            f"    - url: {_q(f'https://assets.example.org/organizations/{meta.provider.domain}-50x50.jpg')}",
            "      width: 50",
            "      height: 50",
            "",
            "topics:",
            *(f"  - {_q(topic)}" for topic in topics),
            "",
            "images:",
            f"  - url: {_q(_image_url(rng, meta.provider.domain))}",
            f"    width: {rng.choice((640, 800, 1024, 1200, 2400))}",
            f"    height: {rng.choice((360, 480, 600, 683, 1074))}",
            "    isCached: true",
            f"    title: {_q(meta.title)}",
            "",
            "related:" if related else "related: []",
            *related,
            "",
            f"secured: {_q(base64.b64encode(rng.randbytes(300)).decode())}",
            "---",
            "",
            *(_sentence(rng, 30, 90) for _ in range(rng.randint(3, 12))),
            "",
        ]
        text = "\n".join(lines)
        if rng.random() < INVALID_SHARE:
            text = _break(rng, text)
        elif self.written_by == "ruamel.yaml":
            text = _as_ruamel_yaml_writes(text)
        elif self.written_by != "hand":
            text = _as_python_frontmatter_writes(text, self.written_by)
        return text

    def write(self, dest: Path, count: int, start: int = 0) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        for index in range(start, count):
            (dest / self.file_name(index)).write_text(self.record(index), encoding="utf-8")


def _tail(meta: Meta) -> tuple[Provider, datetime]:
    return meta.provider, meta.published


def _article(rng: random.Random, meta: Meta) -> str:
    lines = [
        f"  - title: {_q(meta.title)}",
        f"    excerpt: {_q(_sentence(rng, 25, 45))}",
        f"    publishedDateTime: {_date(meta.published)}",
        f"    webUrl: {_q(meta.url)}",
        f"    ampWebUrl: {_q(meta.url + 'amp/')}",
        f"    cdnAmpWebUrl: {_q(_cdn(meta.url))}",
        "    type: article",
        "    provider:",
        f"      name: {_q(meta.provider.name)}",
        f"      domain: {meta.provider.domain}",
        f"    quality: {rng.randint(20, 110)}",
        "    images:",
        f"      - url: {_q(_image_url(rng, meta.provider.domain))}",
        f"        width: {rng.choice((640, 756, 840, 1024, 2500))}",
        f"        height: {rng.choice((415, 470, 567, 683, 1409))}",
        "        isCached: true",
    ]
    return "\n".join(lines)


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(_WORDS, k=rng.randint(low, high))
    if rng.random() < 0.2:
        words.append(rng.choice(_UNICODE_WORDS))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def _image_url(rng: random.Random, domain: str) -> str:
    return (
        f"https://cdn.{domain}/wp-content/uploads/{rng.getrandbits(64):016x}.jpg?w=1200&strip=all"
    )


def _cdn(url: str) -> str:
    host, _, path = url.removeprefix("https://").partition("/")
    return f"https://{host.replace('.', '-')}.cdn.ampproject.org/c/s/{host}/{path}amp/"


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:00Z")


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is a subset of it)."""
    return json.dumps(text, ensure_ascii=False)


def _as_python_frontmatter_writes(text: str, style: str) -> str:
    import frontmatter  # noqa: PLC0415 - only these styles need it

    post = frontmatter.loads(text)
    options = {"default_flow_style": None} if style.endswith("-flow") else {}
    if style.endswith("-shared"):
        providers: dict[str, object] = {}
        related: list[dict[str, object]] = post.metadata.get("related", [])  # type: ignore[assignment]
        for article in [post.metadata, *related]:
            provider = article["provider"]
            article["provider"] = providers.setdefault(repr(provider), provider)
    return frontmatter.dumps(post, **options) + "\n"


def _as_ruamel_yaml_writes(text: str) -> str:
    import frontmatter  # noqa: PLC0415 - only these styles need it
    from ruamel.yaml import YAML  # noqa: PLC0415

    post = frontmatter.loads(text)
    stream = io.StringIO()
    YAML(typ="rt", pure=True).dump(post.metadata, stream)
    return f"---\n{stream.getvalue()}---\n\n{post.content}\n"


def _break(rng: random.Random, text: str) -> str:
    """Make a record invalid in one of several ways a publisher might."""
    kind = rng.choice(INVALID_KINDS)
    if kind == "missing-title":
        return re.sub(r"\ntitle: .*\n", "\n", text, count=1)
    if kind == "bad-date":  # a day that does not exist
        return re.sub(
            r"\npublishedDateTime: \S+", "\npublishedDateTime: 2021-02-30T10:00:00Z", text, count=1
        )
    if kind == "no-timezone":
        return re.sub(r"(\npublishedDateTime: \S+)Z", r"\1", text, count=1)
    if kind == "bad-url":
        return text.replace('\nwebUrl: "https://', '\nwebUrl: "htps:// ', 1)
    if kind == "yaml-syntax":
        return text.replace('\nexcerpt: "', "\nexcerpt: [unclosed ", 1)
    if kind == "duplicate-key":
        return text.replace("\ntype: article\n", "\ntype: article\nquality: 1\n", 1)
    if kind == "no-front-matter":
        return text.removeprefix("---\n")
    if kind == "wrong-type":
        return text.replace("\nquality: ", '\nquality: "high" # ', 1)
    if kind == "empty-topics":
        start = text.index("\ntopics:\n")
        end = text.index("\n\n", start + 1)
        return text[:start] + "\ntopics: []" + text[end:]
    # bad-related: a related article without its URL
    return text.replace("\n    webUrl: ", "\n    link: ", 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, help="records in the corpus (N)")
    parser.add_argument("dest", type=Path, help="folder to write the records into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--start", type=int, default=0, help="first index to write")
    parser.add_argument("--written-by", choices=WRITERS, default="hand")
    parser.add_argument(
        "--newest",
        action="store_true",
        help="date the records written after every record before --start, as a news desk adds them",
    )
    args = parser.parse_args(argv)
    newest_from = args.start if args.newest else None
    Corpus(args.seed, args.written_by, newest_from).write(args.dest, args.count, args.start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
