"""The web application: dashboard pages and the JSON API (thin, over the library)."""

from patronage.web.app import create_app
from patronage.web.serving import run as run_server
from patronage.web.serving import startup_notes

__all__ = ["create_app", "run_server", "startup_notes"]
