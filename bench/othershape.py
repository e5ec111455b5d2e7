"""A corpus of another shape than bench/corpus.py's, to time with ``bench/run.py --corpus``.

    python bench/othershape.py N FOLDER [--seed 7] [--related 0 12] [--widely-cited 500]
                               [--topics 300] [--providers 400]

The figures of one corpus may not hold for another, and the issue's are checked on a corpus
of someone else's.  This one differs where it could matter: records kept in folders by year
and month, as ``.md``, ``.markdown`` or ``.txt``; a third with Windows line breaks, a seventh
with a byte order mark; URLs with letters outside ASCII in their paths; related articles
drawn from anywhere in the corpus (a title then shows in entries across the years), and
a third of the records citing one of 500 articles that have no record (``--widely-cited``
sets how many: with 5, each is cited by about 6% of the records); 305 topics and 400 providers
(the first providers far more common; ``--topics`` and ``--providers`` set how many, and
thousands of them make thousands of feeds that each list a few articles over years);
records of about 6 KB, dumped by PyYAML, keys sorted or not.  About 5% say ``published:
false``, 2% have a date that is not one and 1% no title.  Each record cites 0 to 12 other
records (``--related``); with ``--related 8 12``, about 10 as the issue's records do, a
record is about 9 KB.
"""

from __future__ import annotations

import argparse
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

WORDS = [
    *("Wasser", "Élan", "quantum", "réseau", "東京", "market", "policy", "climate", "vaccine"),
    *("startup", "league", "ballot", "orbit", "chip", "Ω", "delta", "fusion", "harvest", "tariff"),
]
DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's, when it is there


def articles(
    count: int, rng: random.Random, topics_made: int = 300, providers_made: int = 400
) -> list[dict[str, Any]]:
    topics = [f"{rng.choice(WORDS).title()} {i}" for i in range(topics_made)]
    topics += ["Économie", "Science & Tech", "AI", "C++", "日本"]
    domains = ["com", "org", "co.uk"]
    providers = [
        (f"Provider {i} Ünïcode", f"www.p{i}.example.{rng.choice(domains)}")
        for i in range(providers_made)
    ]
    weights = [1 / (i + 1) for i in range(len(providers))]
    start = datetime(2021, 1, 1, tzinfo=UTC)
    made = []
    for index in range(count):
        name, domain = rng.choices(providers, weights)[0]
        url = f"https://{domain.removeprefix('www.')}/news/{index}-{rng.choice(WORDS)}"
        url += f"?ref=feed&x={index}"
        when = start + timedelta(minutes=rng.randrange(60 * 24 * 900))
        written = when.isoformat().replace("+00:00", rng.choice(["Z", "+00:00"]))
        image = {"url": f"https://img.example.net/{index}.jpg", "width": 1200, "height": 600}
        made.append(
            {
                "title": " ".join(rng.choices(WORDS, k=rng.randint(3, 12))) + f" #{index}",
                "excerpt": " ".join(rng.choices(WORDS, k=rng.randint(10, 60))),
                "publishedDateTime": written,
                "webUrl": url,
                "ampWebUrl": url + "&amp=1",
                "provider": {
                    "name": name,
                    "domain": domain,
                    "images": [{"url": f"https://{domain}/logo.png", "width": 64, "height": 64}],
                },
                "topics": rng.sample(topics, rng.randint(1, 4)),
                "images": [image] if rng.random() < 0.8 else [],
                "quality": rng.randint(0, 100),
                "heat": rng.randint(0, 100),
                "published": rng.random() > 0.05,
                "secured": "x" * rng.randint(100, 400),
            }
        )
    return made


CITED = ("title", "excerpt", "publishedDateTime", "webUrl", "ampWebUrl", "provider", "images")


def write(
    count: int,
    folder: Path,
    seed: int,
    related: tuple[int, int] = (0, 12),
    widely_cited: int = 500,
    *,
    topics: int = 300,
    providers: int = 400,
) -> None:
    """``count`` records into ``folder``, each citing from ``related[0]`` to ``related[1]``
    other records (one fewer when it draws itself), and a third of them one of
    ``widely_cited`` articles that have no record; their topics drawn from ``topics`` and
    five more, their providers from ``providers``."""
    rng = random.Random(seed)
    made = articles(count, rng, topics, providers)
    for index, article in enumerate(made):
        cited = [
            {key: value for key, value in made[other].items() if key in CITED}
            for other in rng.sample(range(count), min(count, rng.randint(*related)))
            if other != index
        ]
        if rng.random() < 0.3:  # an article known only from citations
            cited.append(
                {
                    "title": f"Elsewhere {index % widely_cited}",
                    "publishedDateTime": article["publishedDateTime"],
                    "webUrl": f"https://elsewhere.example.com/{index % widely_cited}",
                    "provider": {"name": "Elsewhere", "domain": "elsewhere.example.com"},
                }
            )
        record = {**article, "related": cited}
        if rng.random() < 0.02:
            record["publishedDateTime"] = "yesterday"
        if rng.random() < 0.01:
            del record["title"]
        matter = yaml.dump(
            record,
            Dumper=DUMPER,
            allow_unicode=True,
            sort_keys=rng.random() < 0.5,
            width=rng.choice([80, 4096]),
        )
        text = f"---\n{matter}---\n\n" + "# Body\n\nSome *markdown* text.\n" * rng.randint(0, 20)
        if index % 3 == 0:
            text = text.replace("\n", "\r\n")
        data = ("\ufeff" if index % 7 == 0 else "").encode() + text.encode()
        where = folder / f"{2021 + index % 3}" / f"{index % 12 + 1:02d}"
        where.mkdir(parents=True, exist_ok=True)
        suffix = rng.choice([".md", ".markdown", ".txt"])
        (where / f"r{index:06d}{suffix}").write_bytes(data)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=int)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--related",
        type=int,
        nargs=2,
        default=(0, 12),
        metavar=("LEAST", "MOST"),
        help="how many other records each record cites (default: 0 12)",
    )
    parser.add_argument(
        "--widely-cited",
        type=int,
        default=500,
        metavar="N",
        help="how many articles without a record a third of the records cite (default: 500)",
    )
    parser.add_argument(
        "--topics",
        type=int,
        default=300,
        metavar="N",
        help="how many topics records draw from, besides five with odd names (default: 300)",
    )
    parser.add_argument(
        "--providers",
        type=int,
        default=400,
        metavar="N",
        help="how many providers records draw from (default: 400)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.related[0] <= args.related[1]:
        parser.error("--related: LEAST and MOST must be 0 <= LEAST <= MOST")
    for option, value in (("--widely-cited", args.widely_cited), ("--providers", args.providers)):
        if value < 1:
            parser.error(f"{option}: N must be at least 1")
    if args.topics < 0:
        parser.error("--topics: N must be at least 0")
    related = (args.related[0], args.related[1])
    write(
        args.records,
        args.folder,
        args.seed,
        related,
        args.widely_cited,
        topics=args.topics,
        providers=args.providers,
    )


if __name__ == "__main__":
    main()
