"""The reference: the same corpus as a Hugo site with per-topic and per-provider RSS feeds.

Each record becomes a page whose front matter (JSON, which Hugo reads fastest) carries its
title, date, excerpt, topics, provider and related links; the RSS template writes the
related links into each item's description, as feeds does.  Pages are listed in feeds but
have no output of their own (feeds writes no HTML either); every feed holds the newest 50 items,
or every item.  A third site also makes a page of every article the records cite, since feeds
publishes those as entries too: that one lists as many items as feeds publishes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from feeds.records import Record, discover, parse_record
from feeds.schema import Schema, load_schema

CONFIG = """\
baseURL = "http://localhost:8000/"
title = "feeds benchmark"
disableKinds = ["sitemap", "robotsTXT", "404"]

[taxonomies]
topic = "topics"
provider = "providers"

[outputs]
home = ["RSS"]
section = ["RSS"]
taxonomy = ["RSS"]
term = ["RSS"]
page = []

[services.rss]
limit = LIMIT
"""

RSS = """\
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>{{ .Title }} - {{ .Site.Title }}</title>
<link>{{ .Permalink }}</link>
<description>Articles about {{ .Title }}</description>
{{ with .OutputFormats.Get "RSS" -}}
<atom:link href="{{ .Permalink }}" rel="self" type="application/rss+xml" />
{{- end }}
{{ range PAGES }}
<item>
<title>{{ .Title }}</title>
<link>{{ .Params.weburl }}</link>
<pubDate>{{ .Date.Format "Mon, 02 Jan 2006 15:04:05 -0700" | safeHTML }}</pubDate>
<guid>{{ .Params.weburl }}</guid>
<description>{{ printf "<p>%s</p>" .Params.excerpt }}
{{- with .Params.related }}<h3>Related articles</h3><ul>
{{- range . }}<li><a href="{{ .url }}">{{ .title }}</a> ({{ .provider }})</li>{{ end -}}
</ul>{{ end }}</description>
</item>
{{ end }}
</channel>
</rss>
"""


def front_matter(data: dict[str, Any]) -> dict[str, Any]:
    provider = data.get("provider") or {}
    related = [
        {
            "title": item.get("title"),
            "url": item.get("webUrl"),
            "provider": (item.get("provider") or {}).get("name"),
        }
        for item in data.get("related") or []
        if isinstance(item, dict)
    ]
    return {
        "title": data.get("title"),
        "date": data.get("publishedDateTime"),
        "draft": data.get("published") is False,
        "weburl": data.get("webUrl"),
        "excerpt": data.get("excerpt", ""),
        "topics": data.get("topics") or [],
        "providers": [provider.get("name")] if provider.get("name") else [],
        "related": related,
    }


def cited_pages(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The front matter of a page for each article ``record`` cites: feeds publishes those
    as entries of their own, in their provider's feed and in the citing record's topics,
    related back to the record."""
    back = [
        {
            "title": record.get("title"),
            "url": record.get("webUrl"),
            "provider": (record.get("provider") or {}).get("name"),
        }
    ]
    pages = []
    for item in record.get("related") or []:
        if not isinstance(item, dict) or not item.get("webUrl"):
            continue
        matter = front_matter(item)
        matter["topics"] = list(dict.fromkeys([*matter["topics"], *(record.get("topics") or [])]))
        matter["related"] = back
        matter["draft"] = False
        pages.append(matter)
    return pages


def valid_record(name: str, raw: bytes, schema: Schema) -> Record | None:
    """The record in ``raw``, when feeds would take it (invalid records are left out, as
    feeds leaves them out)."""
    loaded = parse_record(name, raw)
    if loaded.record is None or loaded.diagnostics or schema.check(loaded.record):
        return None
    return loaded.record


def make_site(
    corpus: Path, site: Path, items: int | None = 50, *, every_article: bool = False
) -> int:
    """Write a Hugo site for ``corpus`` into ``site``, with ``items`` per feed (``None``:
    all); the number of pages written.  With ``every_article``, each article a record cites
    is a page too (the first description of a URL wins, a record's own over a citation's),
    so Hugo lists as many items as feeds publishes entries."""
    pages = ".Pages.ByDate.Reverse" if items is None else f"first {items} .Pages.ByDate.Reverse"
    shutil.rmtree(site, ignore_errors=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "content" / "posts").mkdir(parents=True)
    config = CONFIG.replace("LIMIT", str(-1 if items is None else items))
    (site / "hugo.toml").write_text(config, "utf-8")
    (site / "layouts" / "_default" / "rss.xml").write_text(RSS.replace("PAGES", pages), "utf-8")
    written = 0
    schema = load_schema()
    records: set[str] = set()
    cited: dict[str, dict[str, Any]] = {}
    paths, _ = discover([corpus])  # the files feeds reads, in subfolders too
    for index, path in enumerate(paths):
        name = path.relative_to(corpus)
        record = valid_record(name.as_posix(), path.read_bytes(), schema)
        if record is None:
            continue
        data = dict(record.data)
        matter = json.dumps(front_matter(data), ensure_ascii=False, indent=1)
        # One folder of pages, each named apart: records in subfolders may share names.
        (site / "content" / "posts" / f"{index:07d}-{name.stem}.md").write_text(
            f"{matter}\n\n{record.body}", "utf-8"
        )
        written += 1
        records.add(str(data.get("webUrl")))
        if every_article and data.get("published") is not False:
            for page in cited_pages(data):
                cited.setdefault(page["weburl"], page)
    for index, (url, page) in enumerate(sorted(cited.items())):
        if url in records:
            continue
        matter = json.dumps(page, ensure_ascii=False, indent=1)
        (site / "content" / "posts" / f"cited-{index:07d}.md").write_text(f"{matter}\n", "utf-8")
        written += 1
    return written
