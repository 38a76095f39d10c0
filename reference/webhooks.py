"""Webhooks: the attributes of contract §2 and the rules they must keep.

`parse_attributes` turns an API `attributes` object into checked values;
`Webhook` holds a saved webhook. Uniqueness of names needs the store and is
checked there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from reference.exceptions import InvalidAttributes, TemplateSyntaxError, ValidationError
from reference.signatures import SIGNATURE_HEADERS, secret_key
from reference.templates import check_template
from reference.triggers import Trigger, parse_triggers

__all__ = [
    "ATTRIBUTES",
    "PROTECTED_HEADERS",
    "Webhook",
    "parse_attributes",
]

# contract §2: attribute -> required on create.
ATTRIBUTES: Mapping[str, bool] = {
    "name": True,
    "url": True,
    "custom_payload": True,
    "headers": True,
    "events": True,
    "http_basic_user": True,
    "http_basic_password": True,
    "enabled": False,
    "payload_api_version": False,
    "nested_items_in_payload": False,
    "auto_retry": False,
    "signing_secret": False,
}

# contract §5: custom headers may not replace these (Authorization too, with basic auth set),
# nor the signature's (contract §5, signatures).
PROTECTED_HEADERS = frozenset(
    {"x-site-id", "x-webhook-id", "x-environment", "content-length", "host", "transfer-encoding"}
    | set(SIGNATURE_HEADERS)
)
MAX_HEADERS = 50
MAX_URL_LENGTH = 2048
PAYLOAD_API_VERSIONS = ("1", "2", "3")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_FORBIDDEN_IN_VALUE = re.compile(r"[\r\n\x00]")


@dataclass(frozen=True, slots=True)
class Webhook:
    """A saved webhook (contract §2)."""

    id: str
    name: str
    url: str
    custom_payload: str | None
    headers: Mapping[str, str]
    events: tuple[Trigger, ...]
    http_basic_user: str | None
    http_basic_password: str | None
    enabled: bool = True
    payload_api_version: str = "3"
    nested_items_in_payload: bool = False
    auto_retry: bool = True
    signing_secret: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    previous_signing_secret: str | None = None
    """The secret before the last change; it signs too until the grace period ends."""
    signing_secret_changed_at: datetime | None = None

    @property
    def has_basic_auth(self) -> bool:
        return self.http_basic_user is not None and self.http_basic_password is not None

    @classmethod
    def create(cls, webhook_id: str, attributes: Mapping[str, Any], now: datetime) -> Webhook:
        """A new webhook from API attributes; every required attribute must be there."""
        missing = [
            ValidationError(name, "is required")
            for name, required in ATTRIBUTES.items()
            if required and name not in attributes
        ]
        try:
            values = parse_attributes(attributes)
        except ValidationError as exc:
            raise InvalidAttributes([*InvalidAttributes.each(exc), *missing]) from None
        InvalidAttributes.raise_any(missing)
        webhook = cls(id=webhook_id, created_at=now, **values)
        _check_headers_against_auth(webhook)
        return webhook

    def updated(self, attributes: Mapping[str, Any], now: datetime) -> Webhook:
        """This webhook with the given attributes changed (a partial update). A new
        signing secret keeps the one it replaces as the previous one, from `now`."""
        values = parse_attributes(attributes)
        webhook = replace(self, **values)
        secret = values.get("signing_secret", self.signing_secret)
        if secret != self.signing_secret:
            rotated = self.signing_secret is not None and secret is not None
            webhook = replace(
                webhook,
                previous_signing_secret=self.signing_secret if rotated else None,
                signing_secret_changed_at=now if rotated else None,
            )
        _check_headers_against_auth(webhook)
        return webhook

    def signing_secrets(self, now: datetime, grace: float) -> tuple[str, ...]:
        """The secrets that sign a call sent at `now`: the current one, then the previous
        one while less than `grace` seconds have passed since the change."""
        if self.signing_secret is None:
            return ()
        previous, changed = self.previous_signing_secret, self.signing_secret_changed_at
        if previous is not None and changed is not None and (now - changed).total_seconds() < grace:
            return (self.signing_secret, previous)
        return (self.signing_secret,)

    def attributes(self) -> dict[str, Any]:
        """The API attributes, in the order of contract §2."""
        return {
            "name": self.name,
            "url": self.url,
            "custom_payload": self.custom_payload,
            "headers": dict(self.headers),
            "events": [t.to_json() for t in self.events],
            "http_basic_user": self.http_basic_user,
            "http_basic_password": self.http_basic_password,
            "enabled": self.enabled,
            "payload_api_version": self.payload_api_version,
            "nested_items_in_payload": self.nested_items_in_payload,
            "auto_retry": self.auto_retry,
            "signing_secret": self.signing_secret,
        }

    def stored(self) -> dict[str, Any]:
        """What the store keeps: the API attributes and the rotation state."""
        changed = self.signing_secret_changed_at
        return {
            **self.attributes(),
            "previous_signing_secret": self.previous_signing_secret,
            "signing_secret_changed_at": None if changed is None else changed.isoformat(),
        }

    @classmethod
    def from_stored(
        cls, webhook_id: str, stored: Mapping[str, Any], created_at: datetime
    ) -> Webhook:
        """A webhook as `stored()` kept it."""
        values = dict(stored)
        previous = values.pop("previous_signing_secret", None)
        changed = values.pop("signing_secret_changed_at", None)
        return cls(
            id=webhook_id,
            created_at=created_at,
            previous_signing_secret=previous,
            signing_secret_changed_at=None if changed is None else datetime.fromisoformat(changed),
            **parse_attributes(values),
        )


def parse_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Check each given attribute and return the values to store; every wrong one is
    reported at once (`InvalidAttributes`)."""
    values: dict[str, Any] = {}
    errors: list[ValidationError] = []
    for name, value in attributes.items():
        parser = _PARSERS.get(name)
        if parser is None:
            errors.append(ValidationError(name, f"unknown attribute {name!r}"))
            continue
        try:
            values[name] = parser(value)
        except ValidationError as exc:
            errors.append(exc)
    InvalidAttributes.raise_any(errors)
    return values


def _name(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("name", f"must be a string, got {_kind(value)}")
    if not value.strip():
        raise ValidationError("name", "must not be blank")
    if len(value) > 255:
        raise ValidationError("name", f"must be at most 255 characters, got {len(value)}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValidationError("name", f"must not contain control characters, got {value!r}")
    return value


def _url(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("url", f"must be a string, got {_kind(value)}")
    if len(value) > MAX_URL_LENGTH:
        raise ValidationError("url", f"must be at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() for c in value):
        raise ValidationError("url", f"must not contain white space, got {value!r}")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValidationError("url", f"must not contain control characters, got {value!r}")
    _template("url", value)
    # A templated URL is checked up to its first tag; the rest is rendered per call.
    fixed = value.split("{{", 1)[0]
    scheme, separator, _ = fixed.partition("://")
    if scheme.lower() not in ("http", "https") or not separator:
        raise ValidationError("url", f"must be an absolute http or https URL, got {value!r}")
    if fixed == value:
        try:
            host = urlsplit(value).hostname
            urlsplit(value).port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise ValidationError("url", f"is not a valid URL ({exc}): {value!r}") from None
        if not host:
            raise ValidationError("url", f"must name a host, got {value!r}")
    return value


def _custom_payload(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("custom_payload", f"must be a string or null, got {_kind(value)}")
    _template("custom_payload", value)
    return value


def _template(field_name: str, source: str) -> None:
    try:
        check_template(source)
    except TemplateSyntaxError as exc:
        raise exc.for_field(field_name) from None


def _headers(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValidationError("headers", f"must be an object of strings, got {_kind(value)}")
    if len(value) > MAX_HEADERS:
        raise ValidationError("headers", f"at most {MAX_HEADERS} headers, got {len(value)}")
    seen: set[str] = set()
    for name, header_value in value.items():
        if not _TOKEN.match(name):
            raise ValidationError("headers", f"{name!r} is not a valid HTTP header name")
        if name.lower() in seen:
            raise ValidationError("headers", f"{name!r} is given twice (names ignore case)")
        seen.add(name.lower())
        if name.lower() in PROTECTED_HEADERS:
            raise ValidationError("headers", f"{name!r} is set by the dispatcher and cannot be set")
        if not isinstance(header_value, str):
            raise ValidationError(
                "headers", f"the value of {name!r} must be a string, got {_kind(header_value)}"
            )
        if _FORBIDDEN_IN_VALUE.search(header_value):
            raise ValidationError(
                "headers", f"the value of {name!r} must not contain CR, LF or NUL"
            )
    return dict(value)


def _events(value: object) -> tuple[Trigger, ...]:
    return parse_triggers(value, "events")


def _optional_string(name: str) -> Any:
    def parse(value: object) -> str | None:
        if value is not None and not isinstance(value, str):
            raise ValidationError(name, f"must be a string or null, got {_kind(value)}")
        if value is not None and "\x00" in value:
            raise ValidationError(name, "must not contain NUL")
        return value

    return parse


def _boolean(name: str) -> Any:
    def parse(value: object) -> bool:
        if not isinstance(value, bool):
            raise ValidationError(name, f"must be true or false, got {value!r}")
        return value

    return parse


def _signing_secret(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError("signing_secret", f"must be a string or null, got {_kind(value)}")
    try:
        secret_key(value)
    except ValueError as exc:
        raise ValidationError("signing_secret", str(exc)) from None
    return value


def _payload_api_version(value: object) -> str:
    if not isinstance(value, str) or value not in PAYLOAD_API_VERSIONS:
        raise ValidationError("payload_api_version", f'must be "1", "2" or "3", got {value!r}')
    return value


_PARSERS: Mapping[str, Any] = {
    "name": _name,
    "url": _url,
    "custom_payload": _custom_payload,
    "headers": _headers,
    "events": _events,
    "http_basic_user": _optional_string("http_basic_user"),
    "http_basic_password": _optional_string("http_basic_password"),
    "enabled": _boolean("enabled"),
    "payload_api_version": _payload_api_version,
    "nested_items_in_payload": _boolean("nested_items_in_payload"),
    "auto_retry": _boolean("auto_retry"),
    "signing_secret": _signing_secret,
}


def _check_headers_against_auth(webhook: Webhook) -> None:
    # contract §5: with basic auth set, Authorization is the dispatcher's.
    if webhook.has_basic_auth and any(n.lower() == "authorization" for n in webhook.headers):
        raise ValidationError(
            "headers", "'Authorization' cannot be set while http_basic_user/password are set"
        )


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
