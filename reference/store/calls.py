"""Events, webhook calls and their attempts: the activity log and the delivery queue."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reference.calls import Attempt, AttemptTrigger, CallStatus, DueCall, WebhookCall
from reference.events import Event
from reference.exceptions import NotFoundError
from reference.jsoncodec import dumps, loads
from reference.store.database import Database
from reference.store.protocol import CallQuery, Completion, QueueState
from reference.timefmt import from_epoch, to_epoch
from reference.webhooks import Webhook

__all__ = ["CallRows"]


_CALL_COLUMNS = (
    "id, webhook_id, entity_type, event_type, created_at, status, attempted_auto_retries_count,"
    " last_sent_at, next_retry_at, request_url, request_headers, request_payload,"
    " response_status, response_headers, response_payload, error"
)


@dataclass(slots=True)
class _Batch:
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    updates: list[tuple[Any, ...]] = field(default_factory=list)


class CallRows:
    """Reads and writes of the call tables. Call these in the database thread.

    `owner` names this process on the calls it claims: a process completes,
    releases and extends only its own claims (contract §8, several processes).
    """

    def __init__(self, db: Database, owner: str) -> None:
        self._db = db
        self._owner = owner

    # -- recording -------------------------------------------------------

    def record(self, event: Event, webhook_ids: Sequence[str], now: datetime) -> list[str]:
        """Store the event and one pending call per webhook, due now (contract §7)."""
        if not webhook_ids:
            return []
        db = self._db
        with db.transaction():
            (event_id,) = db.one(
                "INSERT INTO events (entity_type, event_type, environment,"
                " is_environment_primary, happened_at, entity, previous_entity,"
                " related_entities, variants) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    event.entity_type,
                    event.event_type,
                    event.environment,
                    int(event.is_environment_primary),
                    to_epoch(event.happened_at),
                    dumps(event.entity),
                    None if event.previous_entity is None else dumps(event.previous_entity),
                    dumps(list(event.related_entities)),
                    dumps(dict(event.variants)) if event.variants else None,
                ),
            )
            ids = []
            for webhook_id in webhook_ids:
                (call_id,) = db.one(
                    "INSERT INTO webhook_calls (webhook_id, event_id, entity_type, event_type,"
                    " created_at, status, due_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)"
                    " RETURNING id",
                    (
                        int(webhook_id),
                        event_id,
                        event.entity_type,
                        event.event_type,
                        to_epoch(event.happened_at),
                        to_epoch(now),
                    ),
                )
                ids.append(str(call_id))
            db.notify()
            return ids

    # -- the delivery queue ------------------------------------------------

    def release_all(self, now: datetime) -> int:
        """On start, when no other process can use the database: every claim is stale,
        left by a process that stopped without recording its outcomes."""
        with self._db.transaction():
            return self._interrupt("", (), now)

    def next_due_at(self) -> datetime | None:
        (due,) = self._db.one(
            "SELECT MIN(due_at) FROM webhook_calls WHERE due_at IS NOT NULL AND claimed = 0"
        )
        resend = self._db.one(
            "SELECT 1 FROM webhook_calls WHERE resend_requested = 1 AND claimed = 0 LIMIT 1"
        )
        if resend is not None:
            return from_epoch(0)
        return None if due is None else from_epoch(due)

    def queue(self, now: datetime) -> QueueState:
        count, oldest = self._db.one(
            "SELECT COUNT(*), MIN(due_at) FROM webhook_calls"
            " WHERE due_at IS NOT NULL AND due_at <= ? AND claimed = 0",
            (to_epoch(now),),
        )
        return QueueState(int(count), None if oldest is None else from_epoch(oldest))

    def claim(
        self,
        now: datetime,
        limit: int,
        lease: float,
        webhooks: Mapping[str, Webhook],
        skip_webhooks: Iterable[str] = (),
        turn: int = 0,
    ) -> list[DueCall]:
        """Claim up to `limit` calls to send now: requested resends first, then due ones.

        Calls of `skip_webhooks` (at their in-flight limit) are left. When some
        are, the due calls are looked up webhook by webhook, starting at the
        `turn`-th, through the (webhook_id, due_at) index, so that a large
        backlog of a hung webhook is not scanned again on every claim (contract §8,
        isolation). Each claimed call carries its webhook from `webhooks`.
        """
        db = self._db
        skip = sorted({int(w) for w in skip_webhooks})
        not_in = f" AND c.webhook_id NOT IN ({','.join('?' * len(skip))})" if skip else ""
        lock = db.backend.skip_locked
        select = (
            "SELECT c.id, c.webhook_id, c.status, c.resend_requested,"
            " c.attempted_auto_retries_count, c.next_retry_at, c.due_at,"
            " e.entity_type, e.event_type, e.environment, e.is_environment_primary,"
            " e.happened_at, e.entity, e.previous_entity, e.related_entities, e.variants,"
            " c.event_id FROM webhook_calls c JOIN events e ON e.id = c.event_id"
        )
        with db.transaction():
            rows = db.rows(
                f"{select} WHERE c.resend_requested = 1 AND c.claimed = 0{not_in}"
                f" ORDER BY c.id LIMIT ?{lock}",
                (*skip, limit),
            )
            if len(rows) < limit and skip:
                ids = list(webhooks)
                turn %= max(1, len(ids))
                for webhook_id in ids[turn:] + ids[:turn]:
                    if int(webhook_id) in skip or len(rows) >= limit:
                        continue
                    rows += db.rows(
                        f"{select} WHERE c.webhook_id = ? AND c.due_at <= ?"
                        " AND c.due_at IS NOT NULL AND c.claimed = 0 AND c.resend_requested = 0"
                        f" ORDER BY c.due_at LIMIT ?{lock}",
                        (int(webhook_id), to_epoch(now), limit - len(rows)),
                    )
            elif len(rows) < limit:
                rows += db.rows(
                    f"{select} WHERE c.due_at <= ? AND c.due_at IS NOT NULL AND c.claimed = 0"
                    f" AND c.resend_requested = 0{not_in} ORDER BY c.due_at LIMIT ?{lock}",
                    (to_epoch(now), *skip, limit - len(rows)),
                )
            if rows:
                db.execute(
                    "UPDATE webhook_calls SET claimed = 1, claimed_by = ?, claimed_at = ?,"
                    f" lease_until = ? WHERE id IN ({','.join('?' * len(rows))})",
                    (self._owner, to_epoch(now), to_epoch(now) + lease, *(r[0] for r in rows)),
                )
        # One event matched by many webhooks is read once per claim, not once per call.
        events: dict[int, Event] = {}
        return [_due_call(row, events, webhooks) for row in rows]

    def complete(self, completions: Sequence[Completion]) -> None:
        """Write finished attempts and release their calls, in one transaction."""
        batch = _Batch()
        for done in completions:
            _add_completion(batch, done, self._owner)
        with self._db.transaction():
            # Only while the claim is still this process's: a process whose lease ran
            # out (it stalled) finds its calls taken back and their attempt recorded.
            self._db.executemany(
                "INSERT INTO webhook_call_attempts (call_id, number, sent_at, duration_ms,"
                " trigger, response_status, error, retry_after, error_detail) SELECT id,"
                " attempts_count + 1, ?, ?, ?, ?, ?, ?, ? FROM webhook_calls"
                " WHERE id = ? AND claimed_by = ?",
                batch.attempts,
            )
            self._db.executemany(
                "UPDATE webhook_calls SET status = ?, attempted_auto_retries_count = ?,"
                " attempts_count = attempts_count + 1, last_sent_at = ?, next_retry_at = ?,"
                " due_at = ?, claimed = 0, claimed_by = NULL, claimed_at = NULL,"
                " lease_until = NULL,"
                " resend_requested = CASE WHEN ? = 1 THEN 0 ELSE resend_requested END,"
                " request_url = ?, request_headers = ?, request_payload = ?,"
                " response_status = ?, response_headers = ?, response_payload = ?, error = ?"
                " WHERE id = ? AND claimed_by = ?",
                batch.updates,
            )

    def abandon(self, call_ids: Sequence[str]) -> None:
        """Calls whose webhook is gone: nothing more will be sent."""
        with self._db.transaction():
            self._db.executemany(
                "UPDATE webhook_calls SET status = CASE WHEN status = 'success' THEN status"
                " ELSE 'failed' END, next_retry_at = NULL, due_at = NULL, claimed = 0,"
                " claimed_by = NULL, claimed_at = NULL, lease_until = NULL, resend_requested = 0"
                " WHERE id = ? AND claimed_by = ?",
                [(int(i), self._owner) for i in call_ids],
            )

    def release(self, call_ids: Sequence[str]) -> None:
        """Claimed calls that were not sent are due again at once (for any process)."""
        db = self._db
        with db.transaction():
            db.executemany(
                "UPDATE webhook_calls SET claimed = 0, claimed_by = NULL, claimed_at = NULL,"
                " lease_until = NULL WHERE id = ? AND claimed_by = ?",
                [(int(i), self._owner) for i in call_ids],
            )
            db.notify()

    def keep_leases(self, now: datetime, lease: float) -> int:
        """Extend this process's leases; take back the calls of processes whose lease
        ran out (they died sending them): each gets an `interrupted` attempt and is
        due again, for any process."""
        db = self._db
        with db.transaction():
            db.execute(
                "UPDATE webhook_calls SET lease_until = ? WHERE claimed = 1 AND claimed_by = ?",
                (to_epoch(now) + lease, self._owner),
            )
            freed = self._interrupt(" AND c.lease_until < ?", (to_epoch(now),), now)
            if freed:
                db.notify()
            return freed

    def _interrupt(self, where: str, params: Sequence[Any], now: datetime) -> int:
        """Release the claimed calls matching `where`, whose process stopped without
        recording an outcome: the attempt it may have made shows as `interrupted`."""
        db = self._db
        ids = [
            row[0]
            for row in db.rows(
                f"SELECT c.id FROM webhook_calls c WHERE c.claimed = 1{where}"
                f" ORDER BY c.id{db.backend.skip_locked}",
                params,
            )
        ]
        if not ids:
            return 0
        marks = ",".join("?" * len(ids))
        db.execute(
            "INSERT INTO webhook_call_attempts (call_id, number, sent_at, duration_ms, trigger,"
            " response_status, error, error_detail) SELECT c.id, c.attempts_count + 1,"
            " COALESCE(c.claimed_at, ?), 0,"
            " CASE WHEN c.resend_requested = 1 THEN 'manual' WHEN c.status = 'pending'"
            " THEN 'event' ELSE 'auto_retry' END, NULL, 'interrupted',"
            " 'the dispatcher sending it stopped before recording what came of it'"
            f" FROM webhook_calls c WHERE c.id IN ({marks})",
            (to_epoch(now), *ids),
        )
        db.execute(
            "UPDATE webhook_calls SET claimed = 0, claimed_by = NULL, claimed_at = NULL,"
            f" lease_until = NULL, attempts_count = attempts_count + 1 WHERE id IN ({marks})",
            ids,
        )
        return len(ids)

    def request_resend(self, call_id: str) -> WebhookCall:
        """contract §8: mark the call for a manual attempt now (stored, so a restart keeps it)."""
        db = self._db
        with db.transaction():
            call = self.get(call_id)
            db.execute(
                "UPDATE webhook_calls SET resend_requested = 1 WHERE id = ?", (int(call.id),)
            )
            db.notify()
            return call

    # -- the activity log ----------------------------------------------------

    def get(self, call_id: str) -> WebhookCall:
        if not (call_id.isascii() and call_id.isdecimal()) or len(call_id) > 18:
            raise NotFoundError("webhook_call", call_id)
        row = self._db.one(
            f"SELECT {_CALL_COLUMNS} FROM webhook_calls WHERE id = ?", (int(call_id),)
        )
        if row is None:
            raise NotFoundError("webhook_call", call_id)
        return self._with_attempts([row])[0]

    def search(self, query: CallQuery) -> tuple[list[WebhookCall], int]:
        where, params = _where(query)
        (total,) = self._db.one(f"SELECT COUNT(*) FROM webhook_calls{where}", params)
        direction = "DESC" if query.descending else "ASC"
        nulls = "NULLS LAST" if query.descending else "NULLS FIRST"
        rows = self._db.rows(
            f"SELECT {_CALL_COLUMNS} FROM webhook_calls{where}"
            f" ORDER BY {query.order_field} {direction} {nulls}, id {direction}"
            " LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return self._with_attempts(rows), total

    def _with_attempts(self, rows: Sequence[tuple[Any, ...]]) -> list[WebhookCall]:
        if not rows:
            return []
        ids = [row[0] for row in rows]
        attempts: dict[int, list[Attempt]] = {i: [] for i in ids}
        for call_id, sent_at, duration_ms, trigger, status, error, wait, detail in self._db.rows(
            "SELECT call_id, sent_at, duration_ms, trigger, response_status, error, retry_after,"
            " error_detail"
            f" FROM webhook_call_attempts WHERE call_id IN ({','.join('?' * len(ids))})"
            " ORDER BY call_id, number",
            ids,
        ):
            attempts[call_id].append(
                Attempt(
                    from_epoch(sent_at),
                    duration_ms,
                    AttemptTrigger(trigger),
                    status,
                    error,
                    wait,
                    detail,
                )
            )
        return [_webhook_call(row, attempts[row[0]]) for row in rows]


def _where(query: CallQuery) -> tuple[str, tuple[Any, ...]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.ids is not None:
        ids = [int(i) for i in query.ids if i.isascii() and i.isdecimal() and len(i) <= 18]
        clauses.append(f"id IN ({','.join('?' * len(ids))})" if ids else "1 = 0")
        params += ids
    for name, value in query.equals:
        if name != "webhook_id":
            clauses.append(f"{name} = ?")
            params.append(value)
        elif value.isascii() and value.isdecimal() and len(value) <= 18:
            clauses.append("webhook_id = ?")
            params.append(int(value))
        else:  # no webhook has such an id
            clauses.append("1 = 0")
    for name, op, moment in query.ranges:
        # Compare at the precision the API shows (milliseconds, cut, as
        # format_time writes them), so that a call's own time as a bound
        # leaves it out: first to microseconds as datetime does, then cut.
        shown = f"(CAST(ROUND({name} * 1000000) AS BIGINT) / 1000)"
        clauses.append(f"{shown} {'>' if op == 'gt' else '<'} ?")
        params.append(_milliseconds(moment))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _milliseconds(moment: datetime) -> int:
    """`moment` in whole milliseconds since the epoch, cut as `format_time` cuts."""
    micros = round(to_epoch(moment) * 1_000_000)
    return micros // 1000


def _add_completion(batch: _Batch, done: Completion, owner: str) -> None:
    outcome, transition, call = done.outcome, done.transition, done.call
    call_id = int(call.id)
    batch.attempts.append(
        (
            to_epoch(outcome.sent_at),
            outcome.duration_ms,
            str(call.trigger),
            outcome.status,
            outcome.error,
            transition.retry_after,
            _text(outcome.error_detail),
            call_id,
            owner,
        )
    )
    batch.updates.append(
        (
            str(transition.status),
            transition.attempted_auto_retries_count,
            to_epoch(outcome.sent_at),
            _epoch_or_none(transition.next_retry_at),
            _epoch_or_none(transition.due_at),
            int(call.trigger is AttemptTrigger.MANUAL),
            done.request_url,
            dumps(done.request_headers),
            _text(done.request_payload),
            outcome.status,
            None if outcome.status is None else dumps(_header_object(outcome.headers)),
            _text(outcome.body),
            outcome.error,
            call_id,
            owner,
        )
    )


def _text(value: str | None) -> str | None:
    """`value` as the log keeps it: a NUL character as U+FFFD, on every backend
    (PostgreSQL's text cannot hold NUL; a receiver's body or a rendered payload can)."""
    return value if value is None or "\x00" not in value else value.replace("\x00", "\ufffd")


def _header_object(headers: Sequence[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in headers:
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return joined


def _epoch_or_none(moment: datetime | None) -> float | None:
    return None if moment is None else to_epoch(moment)


def _time_or_none(seconds: float | None) -> datetime | None:
    return None if seconds is None else from_epoch(seconds)


def _due_call(
    row: tuple[Any, ...], events: dict[int, Event], webhooks: Mapping[str, Webhook]
) -> DueCall:
    """A claimed row as a call; `events` holds the events already read, by id."""
    (call_id, webhook_id, status, resend, retries, next_retry_at, due_at) = row[:7]
    event_id = row[16]
    event = events.get(event_id)
    if event is None:
        event = events[event_id] = _event(row[7:16])
    if resend:
        trigger = AttemptTrigger.MANUAL
    elif status == CallStatus.PENDING:
        trigger = AttemptTrigger.EVENT
    else:
        trigger = AttemptTrigger.AUTO_RETRY
    return DueCall(
        id=str(call_id),
        webhook_id=str(webhook_id),
        event=event,
        status=CallStatus(status),
        trigger=trigger,
        attempted_auto_retries_count=retries,
        next_retry_at=_time_or_none(next_retry_at),
        due_at=_time_or_none(due_at),
        webhook=webhooks.get(str(webhook_id)),
    )


def _event(columns: tuple[Any, ...]) -> Event:
    (entity_type, event_type, environment, primary, happened_at) = columns[:5]
    (entity, previous_entity, related_entities, variants) = columns[5:]
    return Event(
        entity_type=entity_type,
        event_type=event_type,
        entity=loads(entity),
        environment=environment,
        is_environment_primary=bool(primary),
        previous_entity=None if previous_entity is None else loads(previous_entity),
        related_entities=tuple(loads(related_entities)),
        happened_at=from_epoch(happened_at),
        variants={} if variants is None else loads(variants),
    )


def _webhook_call(row: tuple[Any, ...], attempts: list[Attempt]) -> WebhookCall:
    (call_id, webhook_id, entity_type, event_type, created_at, status, retries) = row[:7]
    (last_sent_at, next_retry_at, request_url, request_headers, request_payload) = row[7:12]
    (response_status, response_headers, response_payload, error) = row[12:]
    return WebhookCall(
        id=str(call_id),
        webhook_id=str(webhook_id),
        entity_type=entity_type,
        event_type=event_type,
        created_at=from_epoch(created_at),
        status=CallStatus(status),
        attempted_auto_retries_count=retries,
        last_sent_at=_time_or_none(last_sent_at),
        next_retry_at=_time_or_none(next_retry_at),
        request_url=request_url,
        request_headers=None if request_headers is None else loads(request_headers),
        request_payload=request_payload,
        response_status=response_status,
        response_headers=None if response_headers is None else loads(response_headers),
        response_payload=response_payload,
        error=error,
        attempts=tuple(attempts),
    )
