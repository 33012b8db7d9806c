"""Running the web application under uvicorn: proxies trusted only when configured, secrets
kept out of the access log, and a word at start-up about where survey links point.

* ``X-Forwarded-For`` names the client only when the request comes from an address in
  ``PATRONAGE_TRUSTED_PROXIES``; otherwise anyone who can reach the server (a local process
  included) could pick the address the rate limits count.
* An invitation token (``/s/<token>``) or open link (``/o/<token>``) opens someone's survey, a
  resume key their saved answers: the access log shows ``/s/…`` and ``resume=…`` instead.
"""

from __future__ import annotations

import logging
import re

from patronage.settings import Settings

_LINK = re.compile(r"(/[so]/)[^/?#\s\"]+")
_SECRET_QUERY = re.compile(r"((?:^|[?&])(?:resume|resume_key|token|open_token)=)[^&#\s\"]*")


def redact(text: str) -> str:
    """``text`` (a path, a request line) with survey tokens and resume keys replaced by …"""
    return _SECRET_QUERY.sub(r"\1…", _LINK.sub(r"\1…", text))


class RedactTokens(logging.Filter):
    """Replaces survey tokens and resume keys in a log record's text arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def startup_notes(settings: Settings) -> list[str]:
    """What ``patronage serve`` says before it starts: where survey links point and why."""
    base = settings.survey_base_url()
    if settings.public_base_url.strip():
        source = "from PATRONAGE_PUBLIC_BASE_URL"
    else:
        source = ("from the serving address; set PATRONAGE_PUBLIC_BASE_URL to the address "
                  "respondents reach (e.g. behind a proxy or from other machines)")
    notes = [f"Survey links in mail, open links and QR codes point to {base}/ ({source})."]
    if settings.trusted_proxies.strip():
        notes.append(f"X-Forwarded-For is trusted from {settings.trusted_proxies.strip()}.")
    return notes


def server_config(settings: Settings, app=None):
    """The uvicorn configuration for ``settings`` (``app`` defaults to ``create_app``)."""
    import uvicorn

    if app is None:
        from patronage.web import create_app
        app = create_app(settings)
    trusted = settings.trusted_proxies.strip()
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="info",
                            proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None)
    for name in ("uvicorn.access", "uvicorn.error"):  # configured by uvicorn.Config above
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
    return config


def run(settings: Settings) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.Server(server_config(settings)).run()


__all__ = ["RedactTokens", "redact", "run", "server_config", "startup_notes"]
