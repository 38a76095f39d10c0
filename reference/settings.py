"""The dispatcher's settings: read once, at the edge, into one frozen object."""

from __future__ import annotations

import importlib.metadata
import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reference.destinations import DestinationPolicy, parse_networks
from reference.exceptions import ConfigurationError
from reference.retries import DEFAULT_RETRY_DELAYS

__all__ = ["Settings"]


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

    def __post_init__(self) -> None:
        if not self.api_token:
            raise ConfigurationError("api_token must not be empty")
        if self.retry_scale <= 0:
            raise ConfigurationError(f"retry_scale must be positive, got {self.retry_scale!r}")
        if any(d < 0 for d in self.retry_delays):
            raise ConfigurationError(f"retry delays must be >= 0, got {self.retry_delays!r}")
        if not 0 < self.connect_timeout <= self.deadline:
            raise ConfigurationError(
                f"connect_timeout must be in (0, deadline], got {self.connect_timeout!r}"
            )
        if not 0 < self.cache_tag_window <= 1:
            raise ConfigurationError(
                f"cache_tag_window must be in (0, 1] seconds, got {self.cache_tag_window!r}"
            )
        if not (math.isfinite(self.claim_lease) and self.claim_lease > self.deadline):
            raise ConfigurationError(
                f"claim_lease must be a number of seconds over the {self.deadline:g} s"
                f" deadline, got {self.claim_lease!r}"
            )
        if self.max_in_flight < 1 or self.max_in_flight_per_webhook < 1:
            raise ConfigurationError("max_in_flight and max_in_flight_per_webhook must be >= 1")
        parse_networks(self.allowed_destinations)  # a ConfigurationError if not ranges
        if self.max_upload_bytes < 1:
            raise ConfigurationError(
                f"max_upload_bytes must be >= 1, got {self.max_upload_bytes!r}"
            )
        if self.public_url is not None and not self.public_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"public_url must be an http:// or https:// URL, got {self.public_url!r}"
            )
        if not (math.isfinite(self.signing_secret_grace) and self.signing_secret_grace >= 0):
            raise ConfigurationError(
                "signing_secret_grace must be a number of seconds >= 0,"
                f" got {self.signing_secret_grace!r}"
            )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from `WEBHOOKS_*` variables, then explicit overrides (the CLI's flags)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if env.get("WEBHOOKS_API_TOKEN"):
            values["api_token"] = env["WEBHOOKS_API_TOKEN"]
        if env.get("WEBHOOKS_DB"):
            values["db"] = env["WEBHOOKS_DB"]
        if env.get("WEBHOOKS_SITE_ID"):
            values["site_id"] = env["WEBHOOKS_SITE_ID"]
        if env.get("WEBHOOKS_CLAIM_LEASE"):
            values["claim_lease"] = _float("WEBHOOKS_CLAIM_LEASE", env["WEBHOOKS_CLAIM_LEASE"])
        if env.get("WEBHOOKS_SIGNING_SECRET_GRACE"):
            values["signing_secret_grace"] = _float(
                "WEBHOOKS_SIGNING_SECRET_GRACE", env["WEBHOOKS_SIGNING_SECRET_GRACE"]
            )
        if env.get("WEBHOOKS_PUBLIC_DESTINATIONS_ONLY"):
            values["public_destinations_only"] = _flag(
                "WEBHOOKS_PUBLIC_DESTINATIONS_ONLY", env["WEBHOOKS_PUBLIC_DESTINATIONS_ONLY"]
            )
        if env.get("WEBHOOKS_ALLOW_DESTINATIONS"):
            values["allowed_destinations"] = tuple(
                part for part in env["WEBHOOKS_ALLOW_DESTINATIONS"].split(",") if part.strip()
            )
        if env.get("WEBHOOKS_FILES_DIR"):
            values["files_dir"] = env["WEBHOOKS_FILES_DIR"]
        if env.get("WEBHOOKS_MAX_UPLOAD_BYTES"):
            values["max_upload_bytes"] = _int(
                "WEBHOOKS_MAX_UPLOAD_BYTES", env["WEBHOOKS_MAX_UPLOAD_BYTES"]
            )
        if env.get("WEBHOOKS_PUBLIC_URL"):
            values["public_url"] = env["WEBHOOKS_PUBLIC_URL"]
        if env.get("WEBHOOKS_RETRY_SCALE"):
            values["retry_scale"] = _float("WEBHOOKS_RETRY_SCALE", env["WEBHOOKS_RETRY_SCALE"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

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


def _float(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {text!r}") from None


def _int(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {text!r}") from None


def _flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be 1 or 0 (true or false), got {text!r}")
