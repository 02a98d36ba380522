"""Settings, read from the environment (or a `.env` file) by one function, never at import.

Tests build settings from a plain dict (`load_settings({...})`), so nothing here may read
`os.environ` as a side effect of importing the module.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.infra.files import private_files, write_private

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "placeholder", "xxx"}
MIN_WEBHOOK_TOKEN = 32  # long enough that guessing it over HTTP is hopeless


class Settings(BaseSettings):
    """Every name is part of the public contract (shared/CONTRACT.md); add, never rename."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(Path("./data"), alias="CPGW_DATA_DIR")
    database_url: str | None = Field(None, alias="CPGW_DATABASE_URL")
    redis_url: str | None = Field(None, alias="CPGW_REDIS_URL")
    routing_rules: Path | None = Field(None, alias="CPGW_ROUTING_RULES")
    webhook_token: str | None = Field(None, alias="CPGW_WEBHOOK_TOKEN")
    sms_transport: Literal["console", "africastalking", "kannel"] | None = Field(None, alias="CPGW_SMS_TRANSPORT")
    at_username: str | None = Field(None, alias="AT_USERNAME")
    at_api_key: str | None = Field(None, alias="AT_API_KEY")
    at_sender_id: str | None = Field(None, alias="AT_SENDER_ID")
    at_api_url: str | None = Field(None, alias="CPGW_AT_API_URL")
    # Kannel (issue 19, docs/india.md): smsbox's sendsms URL and its `sendsms-user` group's login;
    # the delivery webhook's full URL as Kannel reaches it (`…/webhooks/kannel/delivery`).
    kannel_send_url: str | None = Field(None, alias="CPGW_KANNEL_SEND_URL")
    kannel_user: str | None = Field(None, alias="CPGW_KANNEL_USER")
    kannel_password: str | None = Field(None, alias="CPGW_KANNEL_PASSWORD")
    kannel_dlr_url: str | None = Field(None, alias="CPGW_KANNEL_DLR_URL")
    # TRAI DLT: the principal entity id, the registered sender header, and a deployment's own
    # template ids (a dlt.yaml in the shape of menus/dlt.yaml; default: the shipped one).
    dlt_entity_id: str | None = Field(None, alias="CPGW_DLT_ENTITY_ID", max_length=30)
    dlt_header: str | None = Field(None, alias="CPGW_DLT_HEADER", max_length=11)
    dlt_file: Path | None = Field(None, alias="CPGW_DLT_FILE")
    # Missed-call numbers: "called number=district LGD[:language]", comma-separated; `*` for any other.
    missed_call_numbers: str = Field("", alias="CPGW_MISSED_CALL_NUMBERS")
    secret_key: str | None = Field(None, alias="CPGW_SECRET_KEY")
    # During a rotation: the secrets that came before, comma-separated, still accepted to decrypt.
    secret_key_previous: str | None = Field(None, alias="CPGW_SECRET_KEY_PREVIOUS")
    environment: Literal["development", "production"] = Field("development", alias="CPGW_ENV")
    # Help numbers shown to villagers; 1098 is being merged into 112, so deployers must be able to edit them.
    helplines: str = Field("112, 1098", alias="CPGW_HELPLINES")
    # What the posters tell villagers to dial and where to send an SMS (`cpgw posters`).
    ussd_code: str = Field("*384*1098#", alias="CPGW_USSD_CODE", max_length=40)
    sms_number: str | None = Field(None, alias="CPGW_SMS_NUMBER", max_length=20)
    # USSD screen budgets in characters, prefix included: GSM-7 text / text that needs UCS-2.
    ussd_budget_gsm: int = Field(160, alias="CPGW_USSD_BUDGET_GSM", ge=40, le=182)
    ussd_budget_ucs2: int = Field(80, alias="CPGW_USSD_BUDGET_UCS2", ge=20, le=91)
    # Per-network overrides, "networkCode:gsm/ucs2,…", e.g. "63902:160/80,40410:140/70".
    ussd_network_budgets: str = Field("", alias="CPGW_USSD_NETWORK_BUDGETS")
    ussd_session_ttl_s: int = Field(600, alias="CPGW_USSD_SESSION_TTL")
    ussd_resume_ttl_s: int = Field(7200, alias="CPGW_USSD_RESUME_TTL")
    # A deployment's own menu texts (`<language>.yaml`, as `cpgw texts import` writes them), laid over
    # the shipped ones key by key; default: `texts/` in the data dir, read when it exists.
    texts_dir: Path | None = Field(None, alias="CPGW_TEXTS_DIR")
    log_level: str = Field("INFO", alias="CPGW_LOG_LEVEL")
    # `auto`: readable text on a terminal, JSON lines otherwise (a collector, a file).
    log_format: Literal["auto", "text", "json"] = Field("auto", alias="CPGW_LOG_FORMAT")
    # SMS handed to the provider per second, all workers together. AT documents no limit; Indian
    # aggregators sell 50–200 a second: set it to the contract. 100 keeps the first alerts of a
    # burst of reports (20 a second, four contacts each) within a second or two.
    sms_rate_per_second: int = Field(200, alias="CPGW_SMS_RATE", ge=1, le=1000)
    sms_timeout_s: float = Field(9.0, alias="CPGW_SMS_TIMEOUT", gt=0, le=60)
    # Addresses of the reverse proxies whose X-Forwarded-For/-Proto headers are believed
    # (uvicorn's forwarded_allow_ips): comma-separated IPs or networks, "*" for any (unsafe).
    trusted_proxies: str = Field("127.0.0.1", alias="CPGW_TRUSTED_PROXIES")
    # /docs and /openapi.json: on in development; in production only with this set to true.
    api_docs: bool | None = Field(None, alias="CPGW_API_DOCS")

    @field_validator("secret_key")
    @classmethod
    def _no_placeholder(cls, value: str | None) -> str | None:
        if value is not None and (value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < 16):
            raise ValueError("CPGW_SECRET_KEY is a placeholder or shorter than 16 characters")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'cpgw.db').resolve()}"

    @property
    def resolved_texts_dir(self) -> Path:
        return self.texts_dir or self.data_dir / "texts"

    @property
    def transport(self) -> str:
        if self.sms_transport:
            return self.sms_transport
        return "africastalking" if self.at_username and self.at_api_key else "console"

    @property
    def docs_enabled(self) -> bool:
        """OpenAPI pages: on by default in development, off in production unless asked for."""
        return self.api_docs if self.api_docs is not None else self.environment != "production"

    @property
    def forwarded_allow_ips(self) -> str:
        return ",".join(part.strip() for part in self.trusted_proxies.split(",") if part.strip()) or "127.0.0.1"

    def as_environ(self) -> dict[str, str]:
        """The environment that builds these settings again: what a child process is given."""
        return {info.alias: str(value) for name, info in type(self).model_fields.items()
                if info.alias and (value := getattr(self, name)) is not None}

    def network_budgets(self) -> dict[str, tuple[int, int]]:
        """Parse `CPGW_USSD_NETWORK_BUDGETS`; a malformed entry is a start-up error, not a guess."""
        budgets: dict[str, tuple[int, int]] = {}
        for item in filter(None, (part.strip() for part in self.ussd_network_budgets.split(","))):
            try:
                code, sizes = item.split(":")
                gsm, ucs2 = sizes.split("/")
                budgets[code.strip()] = (int(gsm), int(ucs2))
            except ValueError as exc:
                raise ValueError(f"CPGW_USSD_NETWORK_BUDGETS: cannot read {item!r} (want code:gsm/ucs2)") from exc
        return budgets

    def budget_for(self, network_code: str) -> tuple[int, int]:
        return self.network_budgets().get(network_code, (self.ussd_budget_gsm, self.ussd_budget_ucs2))

    def helpline_text(self) -> str:
        return ", ".join(part.strip() for part in self.helplines.split(",") if part.strip())


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `environ` (default: the process environment and `.env`)."""
    if environ is None:
        settings = Settings()
    else:
        settings = Settings(_env_file=None, **{k: v for k, v in environ.items() if k.startswith(("CPGW_", "AT_"))})
    settings.network_budgets()  # fail at start, not on the first hop of a network
    missed_call_numbers(settings)
    if settings.environment == "production":
        problems = production_problems(settings)
        if problems:
            raise ValueError("; ".join(problems))
    return settings


def production_problems(settings: Settings) -> list[str]:
    """What stops a production start: each would let a stranger act on cases, or lose alerts silently."""
    problems = []
    if not settings.secret_key:
        problems.append("CPGW_SECRET_KEY must be set in production")
    token = settings.webhook_token or ""
    if len(token) < MIN_WEBHOOK_TOKEN or token.strip().lower() in PLACEHOLDER_SECRETS:
        problems.append(f"CPGW_WEBHOOK_TOKEN must be set in production, at least {MIN_WEBHOOK_TOKEN} characters "
                        "(without it anyone can post a report or an ACK)")
    if settings.transport == "console":
        problems.append("production needs a real SMS transport: set AT_USERNAME and AT_API_KEY "
                        "(the console transport sends nothing)")
    elif settings.transport == "africastalking" and not (settings.at_username and settings.at_api_key):
        problems.append("CPGW_SMS_TRANSPORT=africastalking needs AT_USERNAME and AT_API_KEY")
    elif settings.transport == "kannel":
        problems.extend(kannel_problems(settings))
    return problems


def kannel_problems(settings: Settings) -> list[str]:
    """What `CPGW_SMS_TRANSPORT=kannel` cannot work without: where to send, and DLT's entity and header."""
    missing = [name for name, value in (
        ("CPGW_KANNEL_SEND_URL", settings.kannel_send_url), ("CPGW_KANNEL_USER", settings.kannel_user),
        ("CPGW_KANNEL_PASSWORD", settings.kannel_password), ("CPGW_DLT_ENTITY_ID", settings.dlt_entity_id),
        ("CPGW_DLT_HEADER", settings.dlt_header)) if not value]
    return [f"CPGW_SMS_TRANSPORT=kannel needs {', '.join(missing)}"] if missing else []


def missed_call_numbers(settings: Settings) -> dict[str, tuple[int | None, str | None]]:
    """`CPGW_MISSED_CALL_NUMBERS` read: called number (or `*`) -> (district LGD, language)."""
    found: dict[str, tuple[int | None, str | None]] = {}
    for item in filter(None, (part.strip() for part in settings.missed_call_numbers.split(","))):
        number, _, target = item.partition("=")
        district, _, lang = target.partition(":")
        if not number.strip() or not district.strip().isdigit():
            raise ValueError(f"CPGW_MISSED_CALL_NUMBERS: cannot read {item!r} (want number=district[:language])")
        found[number.strip()] = (int(district), lang.strip() or None)
    return found


def unsafe_settings(settings: Settings) -> list[str]:
    """Settings still on that are fine on a laptop and unsafe in the field (`cpgw doctor`, /readyz)."""
    found = []
    if settings.environment != "production":
        found.append("CPGW_ENV is not production: the checks below are not enforced at start")
    if not settings.webhook_token:
        found.append("CPGW_WEBHOOK_TOKEN is unset: webhooks accept posts from anyone")
    elif len(settings.webhook_token) < MIN_WEBHOOK_TOKEN:
        found.append(f"CPGW_WEBHOOK_TOKEN is shorter than {MIN_WEBHOOK_TOKEN} characters")
    if settings.transport == "console":
        found.append("SMS transport is the console: no alert leaves this machine")
    if not settings.secret_key:
        found.append("CPGW_SECRET_KEY is unset: a key generated into the data dir encrypts reporters' numbers")
    if "*" in settings.trusted_proxies.replace(" ", "").split(","):
        found.append("CPGW_TRUSTED_PROXIES is '*': any client can claim to be https or any address")
    if settings.docs_enabled and settings.environment == "production":
        found.append("CPGW_API_DOCS is on in production")
    if settings.redis_url is None:
        found.append("CPGW_REDIS_URL is unset: an embedded Redis serves one machine only")
    if settings.database_url is None or settings.resolved_database_url.startswith("sqlite"):
        found.append("SQL is SQLite: one machine only, no replicas")
    return found


def previous_secret_keys(settings: Settings) -> list[str]:
    """Secrets a rotation left behind: `CPGW_SECRET_KEY_PREVIOUS`, or the data dir's previous file."""
    if settings.secret_key_previous:
        return [part.strip() for part in settings.secret_key_previous.split(",") if part.strip()]
    path = settings.data_dir / "secret.key.previous"
    return [path.read_text().strip()] if not settings.secret_key and path.exists() else []


def secret_key(settings: Settings) -> str:
    """The key that encrypts reporters' numbers: from the setting, else generated once into the data dir."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret.key"
    private_files(settings.data_dir, path, path.with_name("secret.key.previous"))
    if not path.exists():
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Whole or not at all: another process starting at the same moment must never read an
        # empty key, and of two made at once the first one linked in wins.
        write_private(path, secrets.token_urlsafe(48), replace=False)
    return path.read_text().strip()
