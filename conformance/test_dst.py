"""DST: where calls may go (contract §8, destinations): the cloud metadata address is never
called, whether a webhook names it or renders it."""

from __future__ import annotations

from conformance.cases import SHOULD, case
from conformance.client import Target
from conformance.plugin import Evidence, Hooks
from conformance.steps import SSO

METADATA = "169.254.169.254"


@case("DST-001", SHOULD, "§8", "a webhook URL at 169.254.169.254 is refused when saved (422)")
def test_refused_when_saved(target: Target, hooks: Hooks, evidence: Evidence) -> None:
    urls = (f"http://{METADATA}/latest/meta-data/", "http://[::ffff:a9fe:a9fe]/")
    statuses = [hooks.attempt(url, SSO) for url in urls]
    evidence.actual = f"statuses {statuses}"
    assert statuses == [422, 422], evidence.actual


@case("DST-002", SHOULD, "§8", "a URL rendered to 169.254.169.254 fails: blocked_destination")
def test_refused_when_sent(target: Target, hooks: Hooks, evidence: Evidence) -> None:
    url = "http://169.254.169.{{entity.attributes.username}}/latest/meta-data/"
    webhook = hooks.create(url, SSO, auto_retry=False)
    target.sso_user("254")
    [call] = target.wait_call_status(webhook["id"], "failed", "rescheduled", timeout=15)
    attributes = call["attributes"]
    evidence.actual = f"{attributes['status']}, error {attributes['error']}"
    assert attributes["error"] == "blocked_destination", evidence.actual
    assert attributes["response_status"] is None
