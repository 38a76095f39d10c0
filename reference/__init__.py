"""The reference webhook dispatcher: DatoCMS-style webhooks, delivered durably."""

from __future__ import annotations

from reference.app import create_api, create_app
from reference.calls import Attempt, CallStatus, WebhookCall
from reference.dispatcher import Dispatcher
from reference.events import Event
from reference.exceptions import (
    ConfigurationError,
    ConflictError,
    DispatcherError,
    FileTooLargeError,
    InvalidAttributes,
    NotFoundError,
    StoreError,
    StoreUnavailable,
    TemplateSyntaxError,
    ValidationError,
)
from reference.settings import Settings
from reference.store import CallQuery
from reference.webhooks import Webhook

__all__ = [
    "Attempt",
    "CallQuery",
    "CallStatus",
    "ConfigurationError",
    "ConflictError",
    "Dispatcher",
    "DispatcherError",
    "Event",
    "FileTooLargeError",
    "InvalidAttributes",
    "NotFoundError",
    "Settings",
    "StoreError",
    "StoreUnavailable",
    "TemplateSyntaxError",
    "ValidationError",
    "Webhook",
    "WebhookCall",
    "create_api",
    "create_app",
]
