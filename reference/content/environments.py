"""Environments: fork = `create`, rename = `update`, promote = `promote`,
delete = `delete` (contract §4). An environment shows as the CMA shows it: no
attributes, its state in `meta`."""

from __future__ import annotations

import re

from reference.content.scope import Scope
from reference.events import Resource
from reference.exceptions import ConflictError, NotFoundError, ValidationError
from reference.store import EnvironmentRow
from reference.timefmt import format_time

__all__ = [
    "all_environments",
    "delete_environment",
    "environment_resource",
    "find",
    "fork",
    "promote",
    "rename",
]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def environment_resource(row: EnvironmentRow) -> Resource:
    return {
        "id": row.id,
        "type": "environment",
        "attributes": {},
        "relationships": {},
        "meta": {
            "status": "ready",
            "primary": row.primary,
            "read_only_mode": False,
            "created_at": format_time(row.created_at),
            "last_data_change_at": format_time(row.data_changed_at),
            "forked_from": row.forked_from,
        },
    }


def all_environments(scope: Scope) -> list[Resource]:
    return [environment_resource(row) for row in scope.rows.environments()]


def find(scope: Scope, environment_id: str) -> Resource:
    for row in scope.rows.environments():
        if row.id == environment_id:
            return environment_resource(row)
    raise NotFoundError("environment", environment_id)


def fork(scope: Scope, source: str, target: object) -> Resource:
    _existing(scope, source)
    new_id = _new_id(scope, target)
    scope.rows.fork(source, new_id, scope.now)
    return _raise(scope, "create", new_id)


def rename(scope: Scope, environment_id: str, target: object) -> Resource:
    _existing(scope, environment_id)
    new_id = _new_id(scope, target)
    scope.rows.rename(environment_id, new_id)
    return _raise(scope, "update", new_id)


def promote(scope: Scope, environment_id: str) -> Resource:
    _existing(scope, environment_id)
    scope.rows.promote(environment_id)
    return _raise(scope, "promote", environment_id)


def delete_environment(scope: Scope, environment_id: str) -> Resource:
    if _existing(scope, environment_id):
        raise ValidationError(
            "id", f"{environment_id!r} is the primary environment and cannot be deleted"
        )
    resource = find(scope, environment_id)
    scope.rows.drop(environment_id)
    return _announce(scope, "delete", resource)


def _raise(scope: Scope, event_type: str, environment_id: str) -> Resource:
    return _announce(scope, event_type, find(scope, environment_id))


def _announce(scope: Scope, event_type: str, resource: Resource) -> Resource:
    # contract §5: for an environment event, `environment` is that environment.
    scope.raise_event(
        "environment",
        event_type,
        resource,
        environment=resource["id"],
        is_primary=resource["meta"]["primary"],
    )
    return resource


def _existing(scope: Scope, environment_id: str) -> bool:
    primary = scope.rows.environment(environment_id)
    if primary is None:
        raise NotFoundError("environment", environment_id)
    return primary


def _new_id(scope: Scope, target: object) -> str:
    if not isinstance(target, str) or not _ID.match(target):
        raise ValidationError(
            "id", f"an environment id is lower-case letters, digits and -; got {target!r}"
        )
    if scope.rows.environment(target) is not None:
        raise ConflictError("id", f"an environment {target!r} already exists")
    return target
