"""HDR: the request headers (contract §5)."""

from __future__ import annotations

import base64

from conformance.cases import MUST, SHOULD, case
from conformance.client import Target
from conformance.plugin import Content, Evidence, Hooks
from conformance.steps import SSO, arrived, body_of, trigger
from receiver import MockReceiver

DEFAULTS = ["accept", "user-agent", "content-type", "x-site-id", "x-webhook-id"]


@case("HDR-001", MUST, "§5", "x-site-id is the site id, the same as the payload's site_id")
def test_site_id(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    assert request.header_values("x-site-id") == [body_of(request)["site_id"]]
    assert request.header("x-site-id")


@case("HDR-002", MUST, "§5", "x-webhook-id is the id of the webhook that matched")
def test_webhook_id(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    first, second = hooks.path("a"), hooks.path("b")
    one = hooks.create(receiver.url_for(first), SSO)
    two = hooks.create(receiver.url_for(second), SSO)
    target.sso_user()
    [a] = arrived(receiver, first, evidence)
    [b] = arrived(receiver, second, evidence)
    evidence.saw([a, b])
    assert a.header_values("x-webhook-id") == [one["id"]]
    assert b.header_values("x-webhook-id") == [two["id"]]


@case("HDR-003", MUST, "§5", "x-environment names the primary for an upload in it")
def test_environment_primary(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("upload", "create"))
    target.upload()
    [request] = arrived(receiver, path, evidence)
    assert request.header_values("x-environment") == [body_of(request)["environment"]]
    assert body_of(request)["is_environment_primary"] is True


@case("HDR-004", MUST, "§5", "x-environment names the sandbox for a record in a sandbox")
def test_environment_sandbox(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", "create"))
    target.record(content.sandbox_model, {"title": "sandboxed"}, environment=content.sandbox)
    [request] = arrived(receiver, path, evidence)
    assert request.header_values("x-environment") == [content.sandbox]


@case("HDR-005", MUST, "§5", "no x-environment for events outside environments (SSO user)")
def test_no_environment(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO + trigger("build_trigger", "deploy_started"))
    target.sso_user()
    target.trigger_build(target.build_trigger()["id"])
    requests = arrived(receiver, path, evidence, 2)
    assert [r.header_values("x-environment") for r in requests] == [[], []]


@case("HDR-006", MUST, "§5", "basic auth is base64(user:password), UTF-8, ':' in the password")
def test_basic_auth(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    user, password = "hook", "s3cr:t-ünï-€"
    hooks.create(receiver.url_for(path), SSO, http_basic_user=user, http_basic_password=password)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    assert request.header_values("authorization") == [expected]


@case("HDR-007", MUST, "§5", "no Authorization when only one basic-auth attribute is set")
def test_half_basic_auth(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO, http_basic_user="only-user")
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    assert request.header_values("authorization") == []


@case("HDR-008", MUST, "§5", "custom headers are sent with their values, after the defaults")
def test_custom_headers(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO, headers={"X-Source": "cms", "X-Other": "a b"})
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    assert request.header_values("x-source") == ["cms"]
    assert request.header_values("x-other") == ["a b"]
    names = [name for name, _ in request.headers]
    assert names.index("x-source") > names.index("x-webhook-id")


@case("HDR-009", MUST, "§5", "a custom Content-Type (any case) replaces the default one")
def test_custom_replaces_default(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    headers = {"content-TYPE": "text/plain; charset=utf-8", "User-Agent": "mine/1"}
    hooks.create(receiver.url_for(path), SSO, headers=headers)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    assert request.header_values("content-type") == ["text/plain; charset=utf-8"]
    assert request.header_values("user-agent") == ["mine/1"]


@case("HDR-010", MUST, "§5", "protected headers as custom headers are refused with 422")
def test_protected_headers(target: Target, receiver: MockReceiver, evidence: Evidence) -> None:
    before = len(target.webhooks())
    refused = []
    for name in ["x-site-id", "X-Webhook-Id", "x-environment", "Content-Length", "Host"]:
        refused.append((name, _create_status(target, receiver, {name: "1"})))
    refused.append(
        ("Transfer-Encoding", _create_status(target, receiver, {"Transfer-Encoding": "x"}))
    )
    with_auth = {"http_basic_user": "u", "http_basic_password": "p"}
    refused.append(
        (
            "Authorization+basic",
            _create_status(target, receiver, {"Authorization": "x"}, **with_auth),
        )
    )
    evidence.actual = str(refused)
    assert all(status == 422 for _, status in refused), refused
    assert len(target.webhooks()) == before


@case(
    "HDR-011",
    SHOULD,
    "§5",
    "headers in order: Accept, User-Agent, Content-Type, x-site-id, x-webhook-id,"
    " x-environment, Authorization, custom",
)
def test_header_order(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(
        receiver.url_for(path),
        trigger("upload", "create"),
        headers={"X-Custom": "1"},
        http_basic_user="u",
        http_basic_password="p",
    )
    target.upload()
    [request] = arrived(receiver, path, evidence)
    wanted = [*DEFAULTS, "x-environment", "authorization", "x-custom"]
    names = [name for name, _ in request.headers if name in wanted]
    expected = [name for name in wanted if name in names]
    evidence.actual = f"order {names}"
    assert names == expected


@case("HDR-012", SHOULD, "§5", "Accept is */* and User-Agent is <name>/<version>")
def test_accept_user_agent(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO)
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    assert request.header_values("accept") == ["*/*"]
    agent = request.header("user-agent") or ""
    name, _, version = agent.partition("/")
    assert name and version and " " not in agent, agent
    assert request.header_values("content-type") == ["application/json"]


def _create_status(
    target: Target, receiver: MockReceiver, headers: dict[str, str], **attributes: object
) -> int:
    body = Target.webhook_attributes(receiver.url_for("/never"), SSO, headers=headers, **attributes)
    response = target.request(
        "POST", "/webhooks", json={"data": {"type": "webhook", "attributes": body}}
    )
    if response.status_code < 300:
        target.delete_webhook(response.json()["data"]["id"])
    return response.status_code
