"""Environments: fork = `create`, rename = `update`, promote = `promote`,
delete = `delete` (SPEC §4)."""

from __future__ import annotations

import re

from reference.content.scope import Scope
from reference.events import Resource
from reference.exceptions import ConflictError, NotFoundError, ValidationError

__all__ = ["delete_environment", "environment_resource", "fork", "promote", "rename"]

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def environment_resource(environment_id: str, is_primary: bool) -> Resource:
    return {
        "id": environment_id,
        "type": "environment",
        "attributes": {"primary": is_primary, "status": "ready"},
        "relationships": {},
        "meta": {},
    }


def fork(scope: Scope, source: str, target: object) -> Resource:
    _existing(scope, source)
    new_id = _new_id(scope, target)
    scope.rows.fork(source, new_id, scope.now)
    return _raise(scope, "create", new_id, False)


def rename(scope: Scope, environment_id: str, target: object) -> Resource:
    primary = _existing(scope, environment_id)
    new_id = _new_id(scope, target)
    scope.rows.rename(environment_id, new_id)
    return _raise(scope, "update", new_id, primary)


def promote(scope: Scope, environment_id: str) -> Resource:
    _existing(scope, environment_id)
    scope.rows.promote(environment_id)
    return _raise(scope, "promote", environment_id, True)


def delete_environment(scope: Scope, environment_id: str) -> Resource:
    if _existing(scope, environment_id):
        raise ValidationError(
            "id", f"{environment_id!r} is the primary environment and cannot be deleted"
        )
    scope.rows.drop(environment_id)
    return _raise(scope, "delete", environment_id, False)


def _raise(scope: Scope, event_type: str, environment_id: str, primary: bool) -> Resource:
    resource = environment_resource(environment_id, primary)
    # SPEC §5: for an environment event, `environment` is that environment.
    scope.raise_event(
        "environment", event_type, resource, environment=environment_id, is_primary=primary
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
