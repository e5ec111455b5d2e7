"""feeds: turn a folder of news records into Atom and RSS feeds, guarded by a schema.

The command-line interface lives in :mod:`feeds.cli`; the library API that it wraps is
:func:`feeds.api.validate` and :func:`feeds.api.build`.
"""

__version__ = "0.1.0"
