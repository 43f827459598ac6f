"""`asset_url()`: where a file in static/ is served from, with a content hash for caching.

With STATIC_URL set (the S3/CloudFront base in AWS) assets load from there; otherwise
from Flask's own static route. The hash changes whenever the file does, so browsers and
CDNs may cache an asset for a year.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, url_for

ONE_YEAR = 365 * 24 * 3600


@cache
def _content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def register_assets(app: Flask, static_url: str | None) -> None:
    static_root = Path(app.static_folder)

    def asset_url(filename: str) -> str:
        version = _content_hash(static_root / filename)
        if static_url:
            return f"{static_url}/{filename}?v={version}"
        return url_for("static", filename=filename, v=version)

    app.jinja_env.globals["asset_url"] = asset_url
    # Versioned URLs are immutable; let them be cached long.
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = ONE_YEAR
