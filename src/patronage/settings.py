"""One typed settings object.

Every field can be set from the environment with the prefix ``PATRONAGE_`` (for example
``PATRONAGE_DATABASE_URL``). Each has a working default, so ``Settings()`` is usable on a fresh
machine. The README's Configuration section documents every field; a test keeps the two in step.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from patronage.hours import parse_hours, parse_quiet_hours

_DEV_SECRET = "dev-only-secret-change-me"

Language = Literal["en", "zh_Hans", "zh_Hant"]


class Settings(BaseSettings):
    """Patronage configuration (environment prefix ``PATRONAGE_``)."""

    model_config = SettingsConfigDict(env_prefix="PATRONAGE_", extra="ignore")

    database_url: str = Field(
        "sqlite:///patronage.db",
        description="SQLAlchemy URL of the database: a SQLite file, or "
        "postgresql+psycopg://user@host:5432/name for PostgreSQL.",
    )
    environment: Literal["development", "production"] = Field(
        "development",
        description="In production the secret key must be set and cookies are marked Secure.",
    )
    secret_key: str = Field(
        _DEV_SECRET,
        description="Signs the customers' opt-out links (sessions, CSRF tokens and survey links "
        "are random values checked against the database). Must be set (32+ characters) in "
        "production.",
    )
    host: str = Field("127.0.0.1", description="Address `patronage serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `patronage serve` listens on.")
    default_language: Language = Field(
        "en", description="Interface language when the browser states none: en, zh_Hans or zh_Hant."
    )
    session_hours: int = Field(12, ge=1, le=24 * 30, description="How long a login session lasts.")
    login_attempts_per_hour: int = Field(
        10,
        ge=1,
        description="Failed logins allowed per client address and per e-mail in one hour before "
        "further attempts get HTTP 429.",
    )
    sqlite_busy_timeout_ms: int = Field(
        5000, ge=0, description="How long a SQLite writer waits for a lock before giving up."
    )
    import_max_rows: int = Field(
        2_000_000, ge=1, description="Largest number of data rows one import file may have."
    )
    public_submissions_per_minute: int = Field(
        1200, ge=1,
        description="Survey submissions accepted per client address per minute; generous so that "
        "many respondents behind one company NAT can answer.",
    )
    public_new_drafts_per_hour: int = Field(
        1000, ge=1,
        description="New anonymous (open-link) drafts one client address may start per hour "
        "before it gets HTTP 429; anonymous drafts untouched for 30 days are deleted.",
    )
    max_request_bytes: int = Field(
        1_000_000, ge=1024,
        description="Largest request body accepted (bytes); larger ones get HTTP 413 before they "
        "are read.",
    )
    public_link_misses_per_minute: int = Field(
        60, ge=1,
        description="Unknown or closed survey links one client address may ask for per minute "
        "before it gets HTTP 429 for a minute; slows down guessing of invitation tokens.",
    )
    mail_backend: Literal["sink", "smtp"] = Field(
        "sink",
        description="How survey mail leaves: 'sink' writes .eml files to mail_sink_dir (for "
        "trials and tests), 'smtp' hands them to the SMTP server.",
    )
    mail_sink_dir: str = Field(
        "mail-sink", description="Folder the 'sink' mail backend writes one .eml file per message to."
    )
    smtp_host: str = Field("localhost", description="SMTP server for the 'smtp' mail backend.")
    smtp_port: int = Field(587, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_username: str = Field("", description="SMTP login; empty means no authentication.")
    smtp_password: str = Field("", description="SMTP password (used with smtp_username).")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    mail_from: str = Field(
        "Patronage <noreply@localhost>", description="From address of survey invitations."
    )
    public_base_url: str = Field(
        "",
        description="Address respondents reach the server at; survey links are "
        "{public_base_url}/s/{token}. Empty: the serving address, http://{host}:{port}.",
    )
    trusted_proxies: str = Field(
        "",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For header "
        "names the client; empty: the header is ignored.",
    )
    min_sample: int = Field(
        30, ge=1,
        description="Fewest answers behind a score (NPS, CSI, a mean) for the pages to show it as "
        "a number; below it they say the sample is too small and give n.",
    )
    standard_min_events: int = Field(
        10, ge=1,
        description="Fewest events in a period for a service standard's control chart to judge "
        "it: a site, team or agent with fewer than two such periods is not judged (its page "
        "says the sample is too small and gives n), so small groups raise no special causes.",
    )
    employee_min_group: int = Field(
        5, ge=3,
        description="Fewest employee answers behind any figure of the employee survey (the "
        "service-profit chain); smaller groups are left out of every page, export and total.",
    )
    page_wait_seconds: float = Field(
        0.3, ge=0, le=600,
        description="How long a visit to the analysis or loyalty page waits for it to be "
        "computed; after that the visit shows the page of the previous data with a note that it "
        "is being updated, or a note that it is being prepared, and reloads by itself.",
    )
    warm_pages_seconds: float = Field(
        5.0, ge=0,
        description="How often the server checks whether the data changed, and if so prepares "
        "the analysis and loyalty pages in every language in the background (also at start-up). "
        "0: pages are computed only when visited.",
    )

    business_hours: str = Field(
        "09:00-18:00",
        description="Working hours of the service desk on working days, e.g. "
        "09:00-12:00,13:00-18:00; service-level targets count only this time.",
    )
    timezone: str = Field(
        "Asia/Shanghai",
        description="Time zone of the working hours and working days (times are stored in UTC).",
    )
    cache_dir: str = Field(
        "",
        description="Folder for what Patronage computes once and keeps between runs (the fitted "
        "sentiment models of comment analytics). Empty: $XDG_CACHE_HOME/patronage, else "
        "~/.cache/patronage.",
    )
    api_requests_per_minute: int = Field(
        600, ge=1, description="Requests one API key may make per minute (HTTP 429 beyond).",
    )
    customer_language: Language = Field(
        "zh_Hans",
        description="Language of messages, greetings and call scripts for a customer whose profile "
        "names none: en, zh_Hans or zh_Hant.",
    )
    remedy_approval_above: float = Field(
        500.0, ge=0,
        description="A remedy (refund, compensation) above this amount waits for a manager's "
        "approval.",
    )
    sms_backend: Literal["sink", "http"] = Field(
        "sink",
        description="How care text messages leave: 'sink' writes one file per message to "
        "sms_sink_dir (for trials and tests), 'http' posts them to the SMS gateway at "
        "sms_gateway_url.",
    )
    sms_sink_dir: str = Field(
        "sms-sink", description="Folder the 'sink' SMS backend writes one file per message to."
    )
    sms_gateway_url: str = Field(
        "",
        description="Address the 'http' SMS backend posts each message to as JSON "
        "{to, body, key, sender}.",
    )
    sms_gateway_token: str = Field(
        "", description="Bearer token sent to the SMS gateway; empty: no Authorization header."
    )
    sms_sender: str = Field("", description="Sender name or number passed to the SMS gateway.")
    care_quiet_days: int = Field(
        3, ge=0,
        description="Days after a care message (greeting or message) during which a customer "
        "gets no other greeting; 0: no quiet period.",
    )
    care_quiet_hours: str = Field(
        "21:00-08:00",
        description="Hours of the customer's own day when no care text message is delivered "
        "(held until they end) and no greeting is sent; empty: none.",
    )

    spark_master: str = Field(
        "local[2]",
        description="Where the spark engine runs (`analyze --engine spark`): local[N] for N "
        "threads in this process, or the master of a Spark cluster, spark://host:7077 "
        "(--spark-master overrides it for one command).",
    )

    @field_validator("business_hours")
    @classmethod
    def _hours_readable(cls, value: str) -> str:
        parse_hours(value)
        return value

    @field_validator("care_quiet_hours")
    @classmethod
    def _quiet_hours_readable(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_known(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use a name such as Asia/Shanghai") \
                from None
        return value

    @field_validator("database_url")
    @classmethod
    def _url_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("database_url must not be empty")
        return value.strip()

    @model_validator(mode="after")
    def _production_secret(self) -> "Settings":
        if self.environment == "production" and (
            self.secret_key == _DEV_SECRET or len(self.secret_key) < 32
        ):
            raise ValueError(
                "PATRONAGE_SECRET_KEY must be set to a random string of at least 32 characters "
                "in production (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def survey_base_url(self) -> str:
        """Where survey links point: ``public_base_url``, or when it is empty the serving
        address (``host``, the machine's name for an all-interfaces host, and ``port``)."""
        if self.public_base_url.strip():
            return self.public_base_url.strip().rstrip("/")
        host = self.host.strip()
        if host in ("", "0.0.0.0", "::", "[::]"):
            import socket

            host = socket.gethostname()
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 address
        return f"http://{host}:{self.port}"


def explain(error) -> str:
    """A pydantic ``ValidationError`` of :class:`Settings` as a message naming each environment
    variable, the value given, what is wrong and its default."""
    lines = []
    for problem in error.errors():
        message = str(problem["msg"]).removeprefix("Value error, ")
        if not problem.get("loc"):  # a rule about several settings
            lines.append(f"{message}.")
            continue
        name = str(problem["loc"][0])
        field = Settings.model_fields.get(name)
        default = "" if field is None or field.default is None else f" ({field.default!r})"
        given = problem.get("input")
        shown = "" if isinstance(given, dict) else f"={str(given)[:80]!r}"
        lines.append(f"PATRONAGE_{name.upper()}{shown}: {message}. Set a valid value or unset "
                     f"it to use the default{default}.")
    return "Invalid setting:\n" + "\n".join(lines)
