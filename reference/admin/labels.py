"""Words for the admin pages: entity types, filters, statuses and triggers as people say them."""

from __future__ import annotations

from collections.abc import Mapping

from reference.triggers import Trigger

__all__ = ["ENTITY_LABELS", "FILTER_LABELS", "STATUS_LABELS", "describe_trigger"]

ENTITY_LABELS: Mapping[str, str] = {
    "item": "Record",
    "item_type": "Model",
    "upload": "Upload",
    "build_trigger": "Build trigger",
    "environment": "Environment",
    "maintenance_mode": "Maintenance mode",
    "sso_user": "SSO user",
    "cda_cache_tags": "CDA cache tags",
}

FILTER_LABELS: Mapping[str, str] = {
    **ENTITY_LABELS,
    "environment_type": "Environment type",
}

STATUS_LABELS: Mapping[str, str] = {
    "pending": "Pending",
    "success": "Success",
    "rescheduled": "Rescheduled",
    "failed": "Failed",
}


def describe_trigger(trigger: Trigger) -> str:
    """`Record: create, publish (environment type: primary)`."""
    label = ENTITY_LABELS.get(trigger.entity_type, trigger.entity_type)
    text = f"{label}: {', '.join(trigger.event_types)}"
    if trigger.filters:
        conditions = "; ".join(
            f"{FILTER_LABELS.get(f.entity_type, f.entity_type).lower()} {' or '.join(f.entity_ids)}"
            for f in trigger.filters
        )
        text += f" (only {conditions})"
    return text
