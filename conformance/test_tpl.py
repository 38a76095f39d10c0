"""TPL: custom payloads and templated URLs (contract §6)."""

from __future__ import annotations

import json
import re
import time

from conformance.cases import MAY, MUST, SHOULD, case
from conformance.client import Target
from conformance.plugin import Content, Evidence, Hooks
from conformance.steps import SSO, arrived, trigger
from receiver import MockReceiver

USER = f"tpl-{time.time_ns()}"
GUIDE = (
    '{"message": "{{event_type}} event triggered on {{entity_type}}!",'
    ' "entity_id": "{{#entity}}{{id}}{{/entity}}"}'
)


def _rendered(
    target: Target,
    receiver: MockReceiver,
    hooks: Hooks,
    evidence: Evidence,
    template: str,
    **attributes: object,
) -> str:
    path = hooks.path()
    hooks.create(receiver.url_for(path), SSO, custom_payload=template, **attributes)
    target.sso_user(USER if "username" in template else None)
    [request] = arrived(receiver, path, evidence)
    evidence.actual = repr(request.text)
    return request.text


@case("TPL-001", MUST, "§6", "the guide's own example renders as the guide says")
def test_guide(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    hooks.create(receiver.url_for(path), trigger("item", "update"), custom_payload=GUIDE)
    record = target.record(content.model, {"title": "a"})
    target.update_record(record["id"], {"title": "b"})
    [request] = arrived(receiver, path, evidence)
    expected = f'{{"message": "update event triggered on item!", "entity_id": "{record["id"]}"}}'
    evidence.actual = repr(request.text)
    assert request.text == expected
    assert request.header_values("content-type") == ["application/json"]


@case("TPL-002", MUST, "§6", '{{x}} HTML-escapes & " < >; {{{x}}} and {{& x}} do not')
def test_escaping(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence, content: Content
) -> None:
    path = hooks.path()
    template = (
        "{{entity.attributes.title}}|{{{entity.attributes.title}}}|{{& entity.attributes.title}}"
    )
    hooks.create(receiver.url_for(path), trigger("item", "create"), custom_payload=template)
    target.record(content.model, {"title": '<a & "b">'})
    [request] = arrived(receiver, path, evidence)
    evidence.actual = repr(request.text)
    escaped, triple, ampersand = request.text.split("|")
    assert escaped.replace("&#34;", "&quot;") == "&lt;a &amp; &quot;b&quot;&gt;"
    assert triple == ampersand == '<a & "b">'


@case("TPL-003", MUST, "§6", "a null or missing value renders as the empty string")
def test_nulls(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    text = _rendered(
        target, receiver, hooks, evidence, "[{{entity.attributes.external_id}}][{{nope.nothing}}]"
    )
    assert text == "[][]"


@case("TPL-004", MUST, "§6", "sections, inverted sections, comments and dotted names work")
def test_sections(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    template = (
        "{{! a comment }}{{#entity}}{{type}}:{{attributes.username}}{{/entity}}"
        "{{^previous_entity}}-none{{/previous_entity}}{{=<% %>=}}<%event_type%>"
    )
    assert _rendered(target, receiver, hooks, evidence, template) == f"sso_user:{USER}-nonecreate"


@case("TPL-005", MUST, "§6", "a non-JSON body goes as it is, with its custom Content-Type")
def test_non_json(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    path = hooks.path()
    hooks.create(
        receiver.url_for(path),
        SSO,
        custom_payload="event={{event_type}} ünï",
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    target.sso_user()
    [request] = arrived(receiver, path, evidence)
    assert request.body == "event=create ünï".encode()
    assert request.header_values("content-type") == ["text/plain; charset=utf-8"]


@case("TPL-006", MUST, "§6", "the url is rendered with the same context")
def test_url(target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence) -> None:
    base = hooks.path("t")
    webhook = hooks.create(
        receiver.url + base + "/{{entity_type}}/{{event_type}}?w={{webhook_id}}", SSO
    )
    target.sso_user()
    [request] = arrived(receiver, base + "/sso_user/create", evidence)
    evidence.actual = f"query {request.query!r}"
    assert request.query == f"w={webhook['id']}"


@case("TPL-007", MUST, "§6", "a template that does not parse is refused (422, line and column)")
def test_broken(target: Target, receiver: MockReceiver, evidence: Evidence) -> None:
    before = len(target.webhooks())
    attributes = Target.webhook_attributes(
        receiver.url_for("/never"), SSO, custom_payload='{"a":\n "{{#entity}}{{id}}"}'
    )
    response = target.request(
        "POST", "/webhooks", json={"data": {"type": "webhook", "attributes": attributes}}
    )
    evidence.actual = f"{response.status_code} {response.text[:300]}"
    assert response.status_code == 422
    details = response.json()["data"][0]["attributes"]["details"]
    assert details.get("field") == "custom_payload"
    assert re.search(r"line\D*\d+.*column\D*\d+", str(details.get("message")), re.I | re.S)
    assert len(target.webhooks()) == before


@case("TPL-008", SHOULD, "§6", "a url template that does not parse is refused (422)")
def test_broken_url(target: Target, receiver: MockReceiver, evidence: Evidence) -> None:
    attributes = Target.webhook_attributes(receiver.url + "/{{#entity}}x", SSO)
    response = target.request(
        "POST", "/webhooks", json={"data": {"type": "webhook", "attributes": attributes}}
    )
    evidence.actual = str(response.status_code)
    if response.status_code < 300:
        target.delete_webhook(response.json()["data"]["id"])
    assert response.status_code == 422


@case("TPL-009", MAY, "§6", "booleans and objects render as JSON writes them")
def test_json_values(
    target: Target, receiver: MockReceiver, hooks: Hooks, evidence: Evidence
) -> None:
    text = _rendered(
        target,
        receiver,
        hooks,
        evidence,
        "{{{is_environment_primary}}} {{{related_entities}}} {{{entity}}}",
    )
    flag, empty, entity = text.split(" ", 2)
    assert (flag, empty) == ("true", json.dumps([]))
    try:
        rendered = json.loads(entity)
    except ValueError:
        raise AssertionError(f"the object is not JSON: {entity[:200]!r}") from None
    assert rendered["type"] == "sso_user"
