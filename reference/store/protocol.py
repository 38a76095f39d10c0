"""The store boundary: what the rest of the dispatcher may ask of its database.

Nothing outside `reference/store/` writes SQL, names a driver or holds a
connection; it talks to a `Store`. The store runs its work in a thread of its
own: `store.transaction(fn, ...)` calls `fn(tx, ...)` there with a
`Transaction`, whose row objects (`tx.webhooks`, `tx.calls`, `tx.content`)
read and write inside one database transaction. A change and the calls it
raises are committed together or not at all, on every backend.

The delivery queue has its own calls (`claim`, `complete`, ...), each one
transaction, because they are the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from reference.calls import DueCall, Transition, WebhookCall
from reference.events import Event, Resource
from reference.sender import Outcome
from reference.webhooks import Webhook

__all__ = [
    "EQ_FIELDS",
    "ORDER_FIELDS",
    "RANGE_FIELDS",
    "CallQuery",
    "CallRows",
    "Completion",
    "ContentRows",
    "EnvironmentRow",
    "QueueState",
    "Store",
    "Transaction",
    "WebhookRows",
]

P = ParamSpec("P")
T = TypeVar("T")


# contract §7: the fields the list endpoint filters and orders by.
EQ_FIELDS = ("webhook_id", "entity_type", "event_type", "status")
RANGE_FIELDS = ("created_at", "last_sent_at", "next_retry_at")
ORDER_FIELDS = ("webhook_id", "created_at", "last_sent_at", "next_retry_at")


@dataclass(frozen=True, slots=True)
class CallQuery:
    """`GET /webhook_calls` parameters, already checked."""

    offset: int = 0
    limit: int = 30
    ids: tuple[str, ...] | None = None
    equals: tuple[tuple[str, str], ...] = ()
    ranges: tuple[tuple[str, str, datetime], ...] = ()  # (field, "gt" | "lt", moment)
    order_field: str = "created_at"
    descending: bool = True


@dataclass(frozen=True, slots=True)
class Completion:
    """One finished attempt, ready to be written."""

    call: DueCall
    outcome: Outcome
    transition: Transition
    request_url: str
    request_headers: dict[str, str]
    #: None when the store refused the payload's text (the outcome is kept without it)
    request_payload: str | None


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """What `Store.claim` takes, for a claim made along with `Store.settle`."""

    now: datetime
    limit: int
    lease: float
    skip_webhooks: tuple[str, ...] = ()
    turn: int = 0


@dataclass(frozen=True, slots=True)
class Settlement:
    """What a delivery worker hands the store at once: the outcomes of finished
    calls, calls to abandon (their webhook is gone) and calls to give back
    unsent, and the next claim to make, if any."""

    completions: Sequence[Completion] = ()
    abandoned: Sequence[str] = ()
    unsent: Sequence[str] = ()
    claim: ClaimRequest | None = None


class WebhookRows(Protocol):
    def all(self) -> Mapping[str, Webhook]:
        """Every webhook by id, as committed now (cached until any process changes one)."""

    def get(self, webhook_id: str) -> Webhook:
        """The webhook, or NotFoundError."""

    def create(self, attributes: Mapping[str, Any], now: datetime) -> Webhook: ...

    def update(self, webhook_id: str, attributes: Mapping[str, Any], now: datetime) -> Webhook:
        """Change some attributes; a new signing secret keeps the previous one from `now`."""

    def delete(self, webhook_id: str) -> Webhook:
        """Delete the webhook; its unanswered calls fail and stay in the log."""


class CallRows(Protocol):
    def record(self, event: Event, webhook_ids: Sequence[str], now: datetime) -> list[str]:
        """Store the event and one pending call per webhook, due now (contract §7)."""

    def get(self, call_id: str) -> WebhookCall: ...

    def search(self, query: CallQuery) -> tuple[list[WebhookCall], int]: ...

    def request_resend(self, call_id: str) -> WebhookCall:
        """contract §8: mark the call for a manual attempt now (stored, so a restart keeps it)."""


@dataclass(frozen=True, slots=True)
class QueueState:
    """The delivery queue at one moment, as the metrics show it."""

    due: int
    oldest_due_at: datetime | None


@dataclass(frozen=True, slots=True)
class EnvironmentRow:
    """One environment: when it was made, from which one, when its data last changed."""

    id: str
    primary: bool
    created_at: datetime
    forked_from: str | None
    data_changed_at: datetime


class ContentRows(Protocol):
    """The content API's rows: environments, entities as JSON:API resources, settings."""

    def environments(self) -> list[EnvironmentRow]:
        """Every environment, the primary one first."""

    def touch(self, environment_id: str, now: datetime) -> None:
        """Its data changed at `now`."""

    def environment(self, environment_id: str) -> bool | None:
        """Whether the environment is the primary one; None when there is no such one."""

    def primary(self) -> str: ...

    def ensure_primary(self, now: datetime) -> None: ...

    def fork(self, source: str, target: str, now: datetime) -> None: ...

    def rename(self, old: str, new: str) -> None: ...

    def promote(self, environment_id: str) -> None: ...

    def drop(self, environment_id: str) -> None: ...

    def next_id(self) -> str: ...

    def get(self, environment: str, kind: str, entity_id: str) -> Resource | None: ...

    def all(self, environment: str, kind: str) -> list[Resource]: ...

    def put(self, environment: str, resource: Resource) -> None: ...

    def delete(self, environment: str, kind: str, entity_id: str) -> None: ...

    def setting(self, key: str, default: Any) -> Any: ...

    def set_setting(self, key: str, value: Any) -> None: ...

    def add_tags(self, environment: str, tags: list[str], now: datetime) -> None: ...

    def oldest_tag_at(self) -> float | None: ...

    def take_tags(self, until: float) -> dict[str, list[str]]:
        """Remove and return the tags added up to `until`, per environment, in order."""


class Transaction(Protocol):
    """One database transaction, in the store's thread."""

    @property
    def webhooks(self) -> WebhookRows: ...

    @property
    def calls(self) -> CallRows: ...

    @property
    def content(self) -> ContentRows: ...

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback` (in the store's thread) once this transaction has committed."""


class Store(Protocol):
    """A dispatcher's database. Open it in the lifespan, close it there."""

    @property
    def site_id(self) -> str:
        """contract §5: one per site, generated on first start and kept; shared by processes."""

    @property
    def owner(self) -> str:
        """This process's name on the calls it claims."""

    @property
    def shared(self) -> bool:
        """Whether other processes may use the same database at once."""

    async def open(self) -> None:
        """Connect, migrate (refusing a database newer than the code) and recover."""

    async def close(self) -> None: ...

    async def transaction(
        self, fn: Callable[Concatenate[Transaction, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(tx, ...)` in one transaction in the store's thread."""

    def on_calls_stored(self, callback: Callable[[], None]) -> None:
        """Call `callback` (from any thread) when any process stores or releases calls."""

    # -- the delivery queue --------------------------------------------------

    async def claim(
        self, now: datetime, limit: int, lease: float, skip_webhooks: Iterable[str], turn: int
    ) -> list[DueCall]:
        """Claim up to `limit` calls to send now for `lease` seconds: resends first.

        Calls of `skip_webhooks` (at their in-flight limit) are left; `turn`
        rotates where the webhook-by-webhook lookup starts, for fairness.
        """

    async def settle(self, settlement: Settlement) -> list[DueCall]:
        """Write outcomes, abandon and release calls, then claim as asked, all in one
        transaction (one round trip, one commit): the calls claimed, if any."""

    async def release(self, call_ids: Sequence[str]) -> None:
        """Give back claimed calls that were not sent; they are due again at once."""

    async def keep_leases(self, now: datetime, lease: float) -> int:
        """Extend this process's leases; free calls whose lease ran out. Returns how many."""

    async def next_due_at(self) -> datetime | None: ...

    async def queue(self, now: datetime) -> QueueState:
        """How many calls are due and unclaimed at `now`, and since when the oldest is."""

    async def ping(self) -> None:
        """One round trip to the database; raises when it cannot be reached."""
