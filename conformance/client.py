"""A small typed client of a dispatcher's HTTP API (contract §1-4, §7), as the cases use it.

The suite knows a target only through this client: webhooks, the activity log
and the content API that raises events. Nothing here imports the reference
dispatcher, so the suite checks any implementation of the contract.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

__all__ = ["ApiFailure", "Resource", "Target"]

Resource = dict[str, Any]

_names = itertools.count(1)


class ApiFailure(Exception):
    """The target answered a setup request with an unexpected status."""

    def __init__(self, method: str, path: str, response: httpx.Response) -> None:
        super().__init__(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        self.response = response


class Target:
    """The dispatcher under test, reached at `base_url` with `token`."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, trust_env=False)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- raw -------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One API request; `token=""` sends none."""
        sent = {"Authorization": f"Bearer {self.token if token is None else token}"}
        if token == "":
            sent = {}
        if json is not None or content is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return self._http.request(
            method, path, json=json, content=content, headers=sent, params=params
        )

    def _ok(self, method: str, path: str, **kwargs: Any) -> Resource:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 300:
            raise ApiFailure(method, path, response)
        if response.status_code == 204 or not response.content:
            return {}
        document: Resource = response.json()
        return document

    def _create(
        self, path: str, type_: str, attributes: Mapping[str, Any], **kwargs: Any
    ) -> Resource:
        body = {"data": {"type": type_, "attributes": dict(attributes)}}
        data: Resource = self._ok("POST", path, json=body, **kwargs)["data"]
        return data

    # -- webhooks (contract §2) ------------------------------------------------------

    @staticmethod
    def webhook_attributes(url: str, events: list[Resource], **overrides: Any) -> Resource:
        """A complete create body for a webhook: every required attribute set."""
        attributes: Resource = {
            "name": f"conformance {next(_names)} {time.time_ns()}",
            "url": url,
            "custom_payload": None,
            "headers": {},
            "events": events,
            "http_basic_user": None,
            "http_basic_password": None,
        }
        attributes.update(overrides)
        return attributes

    def create_webhook(self, attributes: Mapping[str, Any]) -> Resource:
        return self._create("/webhooks", "webhook", attributes)

    def update_webhook(self, webhook_id: str, **attributes: Any) -> Resource:
        body = {"data": {"type": "webhook", "id": webhook_id, "attributes": attributes}}
        data: Resource = self._ok("PUT", f"/webhooks/{webhook_id}", json=body)["data"]
        return data

    def delete_webhook(self, webhook_id: str) -> None:
        self.request("DELETE", f"/webhooks/{webhook_id}")

    def webhooks(self) -> list[Resource]:
        data: list[Resource] = self._ok("GET", "/webhooks")["data"]
        return data

    # -- the activity log (contract §7) ----------------------------------------------

    def calls(self, **params: str) -> tuple[list[Resource], int]:
        document = self._ok("GET", "/webhook_calls", params=params)
        return document["data"], int(document["meta"]["total_count"])

    def calls_of(self, webhook_id: str) -> list[Resource]:
        params = {"filter[fields][webhook_id][eq]": webhook_id, "page[limit]": "500"}
        return self.calls(**params)[0]

    def call(self, call_id: str) -> Resource:
        data: Resource = self._ok("GET", f"/webhook_calls/{call_id}")["data"]
        return data

    def resend(self, call_id: str) -> httpx.Response:
        return self.request("POST", f"/webhook_calls/{call_id}/resend_webhook")

    def wait_calls(
        self,
        webhook_id: str,
        until: Callable[[list[Resource]], bool],
        *,
        timeout: float = 10.0,
    ) -> list[Resource]:
        """Poll the log until `until(calls of the webhook)` holds; the last calls seen.

        The API has no long poll, so this is the one place the suite polls.
        """
        deadline = time.monotonic() + timeout
        while True:
            calls = self.calls_of(webhook_id)
            if until(calls) or time.monotonic() > deadline:
                return calls
            time.sleep(0.02)

    def wait_call_status(
        self, webhook_id: str, *statuses: str, count: int = 1, timeout: float = 10.0
    ) -> list[Resource]:
        """The webhook's calls once `count` of them have one of `statuses`."""

        def done(calls: list[Resource]) -> bool:
            return sum(c["attributes"]["status"] in statuses for c in calls) >= count

        return self.wait_calls(webhook_id, done, timeout=timeout)

    # -- content that raises events (contract §4) ------------------------------------

    def sso_user(self, username: str | None = None) -> Resource:
        name = username or f"user{next(_names)}-{time.time_ns()}"
        return self._create("/sso-users", "sso_user", {"username": name})

    def model(self, *, draft: bool = True, environment: str | None = None) -> Resource:
        key = f"m{next(_names)}_{time.time_ns() % 10**9}"
        attributes = {"name": key, "api_key": key, "draft_mode_active": draft}
        return self._create("/item-types", "item_type", attributes, headers=_env(environment))

    def field(
        self, model_id: str, api_key: str, field_type: str = "string", **extra: Any
    ) -> Resource:
        attributes = {"label": api_key, "api_key": api_key, "field_type": field_type, **extra}
        body = {"data": {"type": "field", "attributes": attributes}}
        data: Resource = self._ok("POST", f"/item-types/{model_id}/fields", json=body)["data"]
        return data

    def update_model(self, model_id: str, **attributes: Any) -> Resource:
        body = {"data": {"type": "item_type", "id": model_id, "attributes": attributes}}
        data: Resource = self._ok("PUT", f"/item-types/{model_id}", json=body)["data"]
        return data

    def delete_model(self, model_id: str) -> None:
        self._ok("DELETE", f"/item-types/{model_id}")

    def record(
        self, model_id: str, attributes: Mapping[str, Any], *, environment: str | None = None
    ) -> Resource:
        body = {
            "data": {
                "type": "item",
                "attributes": dict(attributes),
                "relationships": {"item_type": {"data": {"type": "item_type", "id": model_id}}},
            }
        }
        data: Resource = self._ok("POST", "/items", json=body, headers=_env(environment))["data"]
        return data

    def update_record(
        self, record_id: str, attributes: Mapping[str, Any], *, environment: str | None = None
    ) -> Resource:
        body = {"data": {"type": "item", "id": record_id, "attributes": dict(attributes)}}
        path = f"/items/{record_id}"
        data: Resource = self._ok("PUT", path, json=body, headers=_env(environment))["data"]
        return data

    def record_action(self, record_id: str, action: str, *, environment: str | None = None) -> None:
        """`publish`, `unpublish` or `delete` a record."""
        if action == "delete":
            self._ok("DELETE", f"/items/{record_id}", headers=_env(environment))
        else:
            self._ok("PUT", f"/items/{record_id}/{action}", headers=_env(environment))

    def upload(self, *, environment: str | None = None, **attributes: Any) -> Resource:
        values = {"path": f"/u/{next(_names)}.png", **attributes}
        return self._create("/uploads", "upload", values, headers=_env(environment))

    def fork(self, source: str, new_id: str) -> Resource:
        body = {"data": {"type": "environment", "id": new_id}}
        data: Resource = self._ok("POST", f"/environments/{source}/fork", json=body)["data"]
        return data

    def rename_environment(self, environment_id: str, new_id: str) -> Resource:
        body = {"data": {"type": "environment", "id": new_id}}
        data: Resource = self._ok("PUT", f"/environments/{environment_id}/rename", json=body)[
            "data"
        ]
        return data

    def promote_environment(self, environment_id: str) -> None:
        self._ok("PUT", f"/environments/{environment_id}/promote")

    def delete_environment(self, environment_id: str) -> None:
        self._ok("DELETE", f"/environments/{environment_id}")

    def maintenance(self, active: bool) -> None:
        self._ok("PUT", "/maintenance-mode/" + ("activate" if active else "deactivate"))

    def build_trigger(self) -> Resource:
        attributes: dict[str, Any] = {
            "name": f"b{next(_names)}",
            "adapter": "custom",
            "adapter_settings": {},
            "frontend_url": None,
            "autotrigger_on_scheduled_publications": False,
        }
        return self._create("/build-triggers", "build_trigger", attributes)

    def trigger_build(self, build_trigger_id: str) -> None:
        self._ok("POST", f"/build-triggers/{build_trigger_id}/trigger")

    def deploy_result(self, build_trigger_id: str, status: str) -> None:
        """The build reports `status` to the trigger's `webhook_url`, without the token."""
        trigger = self._ok("GET", f"/build-triggers/{build_trigger_id}")["data"]
        url = trigger["attributes"]["webhook_url"]
        response = self._http.post(url, json={"status": status})
        if response.status_code >= 300:
            raise ApiFailure("POST", url, response)


def _env(environment: str | None) -> dict[str, str]:
    return {} if environment is None else {"X-Environment": environment}
