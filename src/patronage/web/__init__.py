"""The web application: dashboard pages and the JSON API (thin, over the library)."""

from patronage.web.app import create_app

__all__ = ["create_app"]
