"""The dispatcher's settings: read once, at the edge, into one frozen object."""

from __future__ import annotations

import importlib.metadata
import math
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reference.destinations import DestinationPolicy, parse_networks
from reference.exceptions import ConfigurationError
from reference.retries import DEFAULT_RETRY_DELAYS

__all__ = ["VARIABLES", "InvalidSetting", "Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the dispatcher can be told. Build one and pass it to `create_app`.

    `db` is a SQLite file path (one dispatcher process) or a `postgresql://`
    URL (any number of processes). `retry_delays` are the contract §8 gaps in
    seconds; `retry_scale` shrinks them for tests (0.001 turns 2 minutes into
    120 ms). `site_id` None keeps the one stored in the database (or generates
    one on first start). `claim_lease` is how long a claimed call stays with
    its process: after it, another process may send it (contract §8).
    `signing_secret_grace` is how long, in seconds, a webhook's previous signing
    secret still signs its calls after the secret changed. `public_destinations_only`
    and `allowed_destinations` (CIDR ranges) set where calls may go (contract §8).

    `files_dir` is where uploaded files are kept (None: beside a SQLite database,
    `<name>-files/`; `./webhooks-files` with PostgreSQL, where every process must
    see the same folder); `max_upload_bytes` is the largest file taken.
    `public_url` is the base of the URLs the API hands out (an upload's `url`, a
    build trigger's `webhook_url`); None uses the URL each request came to.
    `metrics_token` puts `GET /metrics` behind a token of its own (and adds
    per-webhook series); None serves it to anyone (counts only).
    """

    api_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    db: str = "webhooks.db"
    site_id: str | None = None
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    retry_scale: float = 1.0
    deadline: float = 5.0
    connect_timeout: float = 2.0
    max_response_bytes: int = 64 * 1024
    max_request_body_bytes: int = 1024 * 1024
    max_in_flight: int = 1024
    max_in_flight_per_webhook: int = 64
    user_agent: str = field(default_factory=lambda: f"datocms-webhooks/{_version()}")
    cache_tag_window: float = 1.0
    claim_lease: float = 30.0
    signing_secret_grace: float = 86400.0
    public_destinations_only: bool = False
    allowed_destinations: tuple[str, ...] = ()
    files_dir: str | None = None
    max_upload_bytes: int = 100 * 1024 * 1024
    public_url: str | None = None
    metrics_token: str | None = None

    def __post_init__(self) -> None:
        _text(self.api_token, "api_token")
        if self.metrics_token is not None:
            _text(self.metrics_token, "metrics_token")
        if self.site_id is not None:
            _text(self.site_id, "site_id")
        _database(self.db)
        if not (math.isfinite(self.retry_scale) and self.retry_scale > 0):
            raise InvalidSetting("retry_scale", self.retry_scale, "must be positive and finite")
        if any(not (math.isfinite(d) and d >= 0) for d in self.retry_delays):
            raise ConfigurationError(
                f"retry delays must be finite and >= 0, got {self.retry_delays!r}"
            )
        if not 0 < self.connect_timeout <= self.deadline:
            raise ConfigurationError(
                f"connect_timeout must be in (0, deadline], got {self.connect_timeout!r}"
            )
        if not 0 < self.cache_tag_window <= 1:
            raise ConfigurationError(
                f"cache_tag_window must be in (0, 1] seconds, got {self.cache_tag_window!r}"
            )
        if not (math.isfinite(self.claim_lease) and self.claim_lease > self.deadline):
            raise InvalidSetting(
                "claim_lease",
                self.claim_lease,
                f"must be a number of seconds over the {self.deadline:g} s deadline",
            )
        if self.max_in_flight < 1 or self.max_in_flight_per_webhook < 1:
            raise ConfigurationError("max_in_flight and max_in_flight_per_webhook must be >= 1")
        for value in self.allowed_destinations:
            try:
                parse_networks((value,))
            except ConfigurationError:
                raise InvalidSetting(
                    "allowed_destinations", value, "must be a CIDR range such as 10.0.0.0/8"
                ) from None
        if self.files_dir is not None and not self.files_dir.strip():
            raise InvalidSetting("files_dir", self.files_dir, "must not be empty")
        if self.max_upload_bytes < 1:
            raise InvalidSetting("max_upload_bytes", self.max_upload_bytes, "must be >= 1")
        if self.public_url is not None:
            _public_url(self.public_url)
        if not (math.isfinite(self.signing_secret_grace) and self.signing_secret_grace >= 0):
            raise InvalidSetting(
                "signing_secret_grace",
                self.signing_secret_grace,
                "must be a finite number of seconds >= 0",
            )

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        names: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Settings:
        """Settings from `WEBHOOKS_*` variables (`VARIABLES`), then explicit overrides (the
        CLI's flags). A value that cannot work is a ConfigurationError naming where it came
        from: the variable, or the override's name in `names` (the CLI's flag for it)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        given: dict[str, tuple[str, object]] = {}  # field: (where it came from, as given)
        for name, variable in VARIABLES.items():
            text = env.get(variable)
            if text:
                values[name] = _PARSERS.get(name, _as_text)(variable, text)
                given[name] = (variable, text)
        for name, value in overrides.items():
            if value is not None:
                values[name] = value
                given[name] = ((names or {}).get(name, name), value)
        try:
            return cls(**values)
        except InvalidSetting as exc:
            if exc.field not in given:
                raise
            where, value = given[exc.field]
            if exc.field == "allowed_destinations":
                value = exc.value  # the one range that is wrong, not all of them
            raise InvalidSetting(exc.field, exc.value, exc.rule, where=where, given=value) from None

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def uploads_folder(self) -> Path:
        """Where uploaded files go (see `files_dir`)."""
        if self.files_dir is not None:
            return Path(self.files_dir)
        if "://" in self.db or self.db == ":memory:":
            return Path("webhooks-files")
        database = Path(self.db)
        return database.with_name(f"{database.stem}-files")

    @property
    def destination_policy(self) -> DestinationPolicy:
        return DestinationPolicy(
            public_only=self.public_destinations_only,
            allowed=parse_networks(self.allowed_destinations),
        )


def _version() -> str:
    """contract §5: `User-Agent: <project name>/<version>`, the version as installed."""
    try:
        return importlib.metadata.version("datocms-webhooks")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


class InvalidSetting(ConfigurationError):
    """A setting that cannot work: `field` is the setting, `value` the value refused and
    `rule` what it must be. With `where` (the flag or variable it came from) and `given`
    (the value as given there), the message names those rather than the setting."""

    def __init__(
        self,
        field: str,
        value: object,
        rule: str,
        *,
        where: str | None = None,
        given: object = None,
    ) -> None:
        if where is None:
            message = f"{field} {rule}, got {value!r}"
        else:
            shown = repr(given) if isinstance(given, str) else str(given)
            message = f"{where} {shown}: {field} {rule}"
        super().__init__(message)
        self.field = field
        self.value = value
        self.rule = rule
        self.where = where


#: the environment variable `Settings.from_environ` reads for each setting
VARIABLES: dict[str, str] = {
    "api_token": "WEBHOOKS_API_TOKEN",
    "db": "WEBHOOKS_DB",
    "site_id": "WEBHOOKS_SITE_ID",
    "retry_scale": "WEBHOOKS_RETRY_SCALE",
    "claim_lease": "WEBHOOKS_CLAIM_LEASE",
    "signing_secret_grace": "WEBHOOKS_SIGNING_SECRET_GRACE",
    "public_destinations_only": "WEBHOOKS_PUBLIC_DESTINATIONS_ONLY",
    "allowed_destinations": "WEBHOOKS_ALLOW_DESTINATIONS",
    "files_dir": "WEBHOOKS_FILES_DIR",
    "max_upload_bytes": "WEBHOOKS_MAX_UPLOAD_BYTES",
    "public_url": "WEBHOOKS_PUBLIC_URL",
    "metrics_token": "WEBHOOKS_METRICS_TOKEN",
}


def _as_text(name: str, text: str) -> str:
    return text


def _float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigurationError(f"{name} {text!r}: not a number") from None


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{name} {text!r}: not a whole number") from None


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} {text!r}: must be 1 or 0 (true or false)")


def _ranges(name: str, text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split(",") if part.strip())


_PARSERS: dict[str, Callable[[str, str], object]] = {
    "retry_scale": _float,
    "claim_lease": _float,
    "signing_secret_grace": _float,
    "public_destinations_only": _flag,
    "allowed_destinations": _ranges,
    "max_upload_bytes": _int,
}


def _text(value: str, field: str) -> None:
    """A token or id sent or compared in an HTTP header: printable ASCII, nothing blank
    around it (a server strips that from the header it receives)."""
    if not value.strip():
        raise InvalidSetting(field, value, "must not be empty or blank")
    if value != value.strip() or not (value.isascii() and value.isprintable()):
        raise InvalidSetting(field, value, "must be printable ASCII with no spaces at either end")


def _database(db: str) -> None:
    if not db.strip():
        raise InvalidSetting("db", db, "must be a SQLite file or a postgresql:// URL, not empty")
    scheme, separator, _ = db.partition("://")
    if separator and scheme.lower() not in ("postgresql", "postgres"):
        raise InvalidSetting(
            "db", db, "must be a SQLite file or a postgresql:// URL, not another kind of URL"
        )


def _public_url(url: str) -> None:
    rule = "must be an http:// or https:// URL with a host (and no query or fragment)"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (a port out of range is a ValueError here)
    except ValueError:
        raise InvalidSetting("public_url", url, rule) from None
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or not (url.isascii() and url.isprintable())
        or " " in url
    ):
        raise InvalidSetting("public_url", url, rule)
