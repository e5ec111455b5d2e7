"""Everything a build publishes, by path relative to the output folder.

Atom and RSS documents (with their archive pages), a JSON Feed beside each, the OPML
subscription list, the front page, its icon and the stylesheet that shows feeds in a
browser.
"""

from __future__ import annotations

from feeds.config import Config
from feeds.jsonfeed import json_name, render_json
from feeds.opml import render_opml
from feeds.plan import FeedPlan
from feeds.render import STYLESHEET, render_plan
from feeds.site import favicon, render_index, stylesheet

INDEX = "index.html"
OPML = "feeds.opml"
FAVICON = "favicon.ico"


def publish(plan: FeedPlan, config: Config) -> dict[str, bytes]:
    files = render_plan(plan, config)
    for spec in plan.feeds:
        for page in [None, *range(1, len(spec.archives) + 1)]:
            files[json_name(spec, page)] = render_json(spec, plan.articles, config, page)
    files[OPML] = render_opml(plan, config)
    files[INDEX] = render_index(plan, config)
    files[STYLESHEET] = stylesheet()
    files[FAVICON] = favicon()
    return files
