"""The reference: the same corpus as a Hugo site with per-topic and per-provider RSS feeds.

Each record becomes a page whose front matter (JSON, which Hugo reads fastest) carries its
title, date, excerpt, topics, provider and related links; the RSS template writes the
related links into each item's description, as feeds does.  Pages are listed in feeds but
have no output of their own (feeds writes no HTML either); every feed holds the newest 50 items.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from feeds.records import parse_record
from feeds.schema import load_schema

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


def make_site(corpus: Path, site: Path, items: int | None = 50) -> int:
    """Write a Hugo site for ``corpus`` into ``site``, with ``items`` per feed (``None``:
    all); the number of pages written."""
    pages = ".Pages.ByDate.Reverse" if items is None else f"first {items} .Pages.ByDate.Reverse"
    shutil.rmtree(site, ignore_errors=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "content" / "posts").mkdir(parents=True)
    config = CONFIG.replace("LIMIT", str(-1 if items is None else items))
    (site / "hugo.toml").write_text(config, "utf-8")
    (site / "layouts" / "_default" / "rss.xml").write_text(RSS.replace("PAGES", pages), "utf-8")
    written = 0
    schema = load_schema()
    for path in sorted(corpus.iterdir()):
        loaded = parse_record(path.name, path.read_bytes())
        if loaded.record is None or loaded.diagnostics or schema.check(loaded.record):
            continue  # invalid records are left out, as feeds leaves them out
        matter = json.dumps(front_matter(dict(loaded.record.data)), ensure_ascii=False, indent=1)
        (site / "content" / "posts" / f"{path.stem}.md").write_text(
            f"{matter}\n\n{loaded.record.body}", "utf-8"
        )
        written += 1
    return written
