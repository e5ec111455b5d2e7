"""Allow ``python -m feeds``."""

from feeds.cli import run

if __name__ == "__main__":
    run()
