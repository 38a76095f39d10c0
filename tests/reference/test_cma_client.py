"""DatoCMS's official JavaScript client, `@datocms/cma-client-node` 5.5.3, against a live
dispatcher: every method of its resources that the dispatcher serves.

Each test runs one Node script of tests/cma_client (npm ci installs the client there)
and checks what the client returned, flattened as it flattens JSON:API resources (`id`,
`type`, the attributes, the relationships as `{type, id}`, `meta`), against the shapes
its `ApiTypes` declare, and the events the step raised as a webhook received them. One
dispatcher serves the whole module, on the run's `--store` backend (SQLite, then
PostgreSQL in the nox session's second run). Node and the client are required: without
them every test fails and says how to install them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.cma_client_fixtures import LiveSite, kinds, running_site


def keys(names: str) -> frozenset[str]:
    return frozenset(names.split())


# What ApiTypes (src/generated/ApiTypes.ts) declares each resource has: every key that
# is not optional there. Relationships are keys too (`{type, id}`, a list of them, or null).
SHAPES: dict[str, frozenset[str]] = {
    "webhook": keys(
        "id type name enabled url custom_payload http_basic_user http_basic_password headers"
        " events payload_api_version nested_items_in_payload auto_retry"
    ),
    "webhook_call": keys(
        "id type entity_type event_type created_at request_url request_headers request_payload"
        " response_status response_headers response_payload attempted_auto_retries_count"
        " last_sent_at next_retry_at status webhook"
    ),
    "item_type": keys(
        "id type name api_key collection_appearance singleton all_locales_required sortable"
        " modular_block draft_mode_active draft_saving_active tree ordering_direction"
        " ordering_meta has_singleton_item hint inverse_relationships_enabled singleton_item"
        " fields fieldsets presentation_title_field presentation_image_field title_field"
        " image_preview_field excerpt_field ordering_field workflow meta"
    ),
    "field": keys(
        "id type label field_type localized default_value api_key hint validators appearance"
        " position deep_filtering_enabled content_link_enabled item_type fieldset"
    ),
    "item": keys("id type item_type meta"),
    "upload": keys(
        "id type size width height path basename filename url format author copyright notes"
        " md5 duration frame_rate blurhash thumbhash mux_playback_id mux_mp4_highest_res"
        " default_field_metadata is_image created_at updated_at mime_type tags smart_tags"
        " exif_info colors upload_collection creator meta"
    ),
    "environment": keys("id type meta"),
    "maintenance_mode": keys("id type active"),
    "build_trigger": keys(
        "id type name enabled adapter adapter_settings last_build_completed_at build_status"
        " webhook_url indexing_status frontend_url autotrigger_on_scheduled_publications"
        " indexing_enabled"
    ),
    "sso_user": keys(
        "id type username external_id is_active first_name last_name groups role meta"
    ),
    "site": keys(
        "id type name domain google_maps_api_token imgix_host internal_domain locales timezone"
        " no_index favicon last_data_change_at require_2fa ip_tracking_enabled"
        " force_use_of_sandbox_environments assets_cdn_default_settings theme global_seo"
        " account owner item_types meta"
    ),
}
META_SHAPES: dict[str, frozenset[str]] = {
    "item_type": keys("has_singleton_item"),
    "item": keys(
        "created_at updated_at published_at first_published_at publication_scheduled_at"
        " unpublishing_scheduled_at status is_valid is_current_version_valid"
        " is_published_version_valid current_version stage has_children"
    ),
    "upload": keys("antivirus"),
    "environment": keys("status read_only_mode created_at last_data_change_at primary forked_from"),
    "sso_user": keys("last_access"),
    "site": keys(
        "created_at draft_mode_default improved_timezone_management improved_hex_management"
        " improved_gql_multilocale_fields improved_gql_visibility_control"
        " improved_boolean_fields improved_validation_at_publishing"
        " improved_exposure_of_inline_blocks_in_cda improved_items_listing"
        " milliseconds_in_datetime non_localized_focal_points allow_custom_theme"
    ),
}


def shaped(resource: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """`resource` (as the client returned it) has the keys ApiTypes gives a `kind`."""
    assert isinstance(resource, Mapping), f"not a {kind}: {resource!r}"
    assert resource.get("type") == kind, f"a {kind} has type {kind!r}: {resource!r}"
    missing = sorted(SHAPES[kind] - set(resource))
    meta = resource.get("meta")
    if kind in META_SHAPES and isinstance(meta, Mapping):
        missing += [f"meta.{key}" for key in sorted(META_SHAPES[kind] - set(meta))]
    elif kind in META_SHAPES:
        missing.append(f"meta (an object, not {meta!r})")
    assert not missing, f"{kind} {resource.get('id')} lacks {missing}; it has {sorted(resource)}"
    return resource


def ids(resources: Iterable[Mapping[str, Any]]) -> list[str]:
    return [r["id"] for r in resources]


def ref(kind: str, resource_id: str) -> dict[str, str]:
    """A relationship as the client gives it back."""
    return {"type": kind, "id": resource_id}


def not_found(outcome: Mapping[str, Any]) -> None:
    """`failure(...)` in lib.mjs: the client's call was answered 404."""
    assert outcome.get("status") == 404, f"expected a 404, got {outcome!r}"


def raised(site: LiveSite, expected: list[tuple[str, str]], ids: Iterable[str]) -> list[Any]:
    """The events about `ids` are exactly `expected` (in any order); their bodies."""
    bodies = site.events(expected, ids=set(ids))
    assert kinds(bodies) == sorted(expected), f"events about {sorted(set(ids))}: {kinds(bodies)}"
    return bodies


@pytest.fixture(scope="module")
def live_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveSite]:
    """One dispatcher for the module, on the run's `--store` backend."""
    if request.config.getoption("--store") == "postgresql":
        db: str = request.getfixturevalue("postgres_server").create_database()
    else:
        db = str(tmp_path_factory.mktemp("cma_client") / "webhooks.db")
    with running_site(db, str(tmp_path_factory.mktemp("cma_files"))) as site:
        yield site


@pytest.fixture
def site(live_site: LiveSite, backend: str) -> LiveSite:
    """The module's live dispatcher; `backend` puts these tests among those that
    `--store postgresql` runs again (the dispatcher is then on PostgreSQL)."""
    return live_site


# -- webhooks ----------------------------------------------------------------------


def test_webhooks_create_find_and_list(site: LiveSite) -> None:
    out = site.node("webhooks_create_find_list.mjs", url=site.url("/unused"))
    created = shaped(out["created"], "webhook")
    assert created["name"] == "Client: every attribute"
    assert created["url"] == site.url("/unused")
    assert created["headers"] == {"X-From-Client": "yes"}
    assert created["custom_payload"] is None
    assert [(e["entity_type"], e["event_types"]) for e in created["events"]] == [
        ("item", ["create", "update"]),
        ("environment", ["create"]),
    ]
    assert created["events"][1]["filters"] == [
        {"entity_type": "environment_type", "entity_ids": ["sandbox"]}
    ]
    assert created["http_basic_user"] == "user"
    assert (created["enabled"], created["payload_api_version"]) == (False, "3")
    assert (created["nested_items_in_payload"], created["auto_retry"]) == (True, False)
    assert out["found"] == created
    for webhook in out["listed"]:
        shaped(webhook, "webhook")
    assert created["id"] in ids(out["listed"])


def test_webhooks_update_and_destroy(site: LiveSite) -> None:
    out = site.node("webhooks_update_destroy.mjs", url=site.url("/unused"))
    created, updated = out["created"], shaped(out["updated"], "webhook")
    assert updated["id"] == created["id"]
    assert updated["name"] == "Client: updated"
    assert updated["custom_payload"] == '{"id": "{{entity.id}}"}'
    assert [(e["entity_type"], e["event_types"]) for e in updated["events"]] == [
        ("upload", ["create", "delete"])
    ]
    assert updated["enabled"] is False
    assert updated["url"] == created["url"], "what the update leaves out stays"
    assert shaped(out["destroyed"], "webhook")["id"] == created["id"]
    not_found(out["afterwards"])
    assert created["id"] not in out["listed_ids"]


# -- webhook calls -----------------------------------------------------------------


def test_webhook_calls_list_filters_order_and_pages(site: LiveSite) -> None:
    url = site.url("/calls-list")
    out = site.node("webhook_calls_list.mjs", url=url)
    webhook_id = out["webhook"]["id"]
    model_ids = ids(out["models"])
    calls = [shaped(c, "webhook_call") for c in out["answered"]]
    assert len(calls) == 3
    for call in calls:
        assert (call["entity_type"], call["event_type"]) == ("item_type", "create")
        assert (call["status"], call["response_status"]) == ("success", 200)
        assert call["webhook"] == ref("webhook", webhook_id)
        assert call["request_url"] == url
        assert call["attempted_auto_retries_count"] == 0
        assert call["next_retry_at"] is None
        assert json.loads(call["request_payload"])["entity"]["id"] in model_ids
    ascending = out["ascending"]
    assert sorted(ascending) == sorted(ids(calls))
    assert out["descending"] == ascending[::-1]
    assert sorted(out["by_webhook_desc"]) == sorted(ascending)
    assert out["first_page"] == ascending[:2]
    assert out["second_page"] == ascending[2:]
    assert sorted(out["by_ids"]) == sorted(ascending[:2])
    assert sorted(out["by_kind"]) == sorted(ascending)
    assert out["other_kind"] == []
    assert sorted(out["created_after_2000"]) == sorted(ascending)
    assert out["created_before_2000"] == []
    raw = out["raw_page"]  # rawList: the JSON:API document, meta included
    assert raw["meta"]["total_count"] == 3
    assert [(c["type"], sorted(c)) for c in raw["data"]] == [
        ("webhook_call", ["attributes", "id", "relationships", "type"])
    ]
    assert len(site.received("/calls-list")) == 3
    raised(site, [("item_type", "create")] * 3, model_ids)


def test_webhook_calls_paged_iterator_find_and_resend(site: LiveSite) -> None:
    out = site.node("webhook_calls_iterate_find_resend.mjs", url=site.url("/calls-resend"))
    iterated = [shaped(c, "webhook_call") for c in out["iterated"]]
    assert len(iterated) == 3 and len(set(ids(iterated))) == 3, "two pages of 2, read once"
    assert {c["webhook"]["id"] for c in iterated} == {out["webhook"]["id"]}
    found = shaped(out["found"], "webhook_call")
    assert found["id"] == iterated[0]["id"]
    assert out["resent"] == "<undefined>", "resend_webhook answers 204, no body"
    after = shaped(out["after"], "webhook_call")
    assert after["status"] == "success"
    assert after["last_sent_at"] >= found["last_sent_at"]
    site.receiver.wait_for(4, path="/calls-resend")
    sent = [body["webhook_call_id"] for body in site.received("/calls-resend")]
    assert sent.count(found["id"]) == 2, sent


# -- models and fields ---------------------------------------------------------------


def test_item_types_create_find_and_list(site: LiveSite) -> None:
    out = site.node("item_types_create_find_list.mjs")
    created = shaped(out["created"], "item_type")
    assert created["name"] == "Client article"
    assert created["api_key"].startswith("article_")
    assert (created["draft_mode_active"], created["sortable"]) == (True, False)
    assert created["collection_appearance"] == "table"
    assert created["hint"] == "Made by the CMA client"
    assert (created["fields"], created["singleton"], created["modular_block"]) == ([], False, False)
    assert created["workflow"] is None
    assert out["found"] == created
    assert created["id"] in ids(shaped(m, "item_type") for m in out["listed"])
    raised(site, [("item_type", "create")], [created["id"]])


def test_item_types_update_and_destroy(site: LiveSite) -> None:
    out = site.node("item_types_update_destroy.mjs")
    created, updated = out["created"], shaped(out["updated"], "item_type")
    assert updated["id"] == created["id"]
    assert (updated["name"], updated["api_key"]) == ("Client changed", created["api_key"])
    assert (updated["draft_mode_active"], updated["hint"]) == (True, "Changed by the CMA client")
    assert shaped(out["destroyed"], "item_type")["id"] == created["id"]
    not_found(out["afterwards"])
    expected = [("item_type", "create"), ("item_type", "update"), ("item_type", "delete")]
    raised(site, expected, [created["id"]])


def test_fields_create_list_and_find(site: LiveSite) -> None:
    out = site.node("fields_create_list_find.mjs")
    model = out["model"]
    title, body = shaped(out["title"], "field"), shaped(out["body"], "field")
    assert (title["label"], title["api_key"], title["field_type"]) == ("Title", "title", "string")
    assert title["validators"] == {"required": {}}
    assert (title["hint"], title["fieldset"]) == ("What the record is called", None)
    assert (body["field_type"], body["localized"]) == ("text", False)
    for field in (title, body):
        assert field["item_type"] == ref("item_type", model["id"])
    listed = [shaped(f, "field") for f in out["listed"]]
    assert ids(listed) == [title["id"], body["id"]]
    assert listed[0]["position"] < listed[1]["position"]
    assert out["found"] == title
    model_after = shaped(out["model_after"], "item_type")
    assert model_after["fields"] == [ref("field", title["id"]), ref("field", body["id"])]
    # A field change is an update of its model.
    expected = [("item_type", "create"), ("item_type", "update"), ("item_type", "update")]
    raised(site, expected, [model["id"]])


def test_fields_update_and_destroy(site: LiveSite) -> None:
    out = site.node("fields_update_destroy.mjs")
    created, updated = out["created"], shaped(out["updated"], "field")
    assert updated["id"] == created["id"]
    assert (updated["label"], updated["api_key"]) == ("Headline", "title")
    assert (updated["hint"], updated["validators"]) == ("Shown in lists", {"required": {}})
    assert shaped(out["destroyed"], "field")["id"] == created["id"]
    assert out["listed"] == []
    not_found(out["afterwards"])
    expected = [("item_type", "create")] + [("item_type", "update")] * 3
    raised(site, expected, [out["model"]["id"]])


# -- records -------------------------------------------------------------------------


def test_items_create_find_and_list_by_type(site: LiveSite) -> None:
    out = site.node("items_create_find_list.mjs")
    posts, pages = out["posts"], out["pages"]
    post, page = shaped(out["post"], "item"), shaped(out["page"], "item")
    assert (post["title"], post["item_type"]) == ("Hello", ref("item_type", posts["id"]))
    assert (page["title"], page["item_type"]) == ("About", ref("item_type", pages["id"]))
    assert post["meta"]["status"] == "draft"
    assert post["meta"]["published_at"] is None
    found = shaped(out["found"], "item")
    assert (found["id"], found["title"], found["item_type"]) == (
        post["id"],
        "Hello",
        post["item_type"],
    )
    assert ids(shaped(i, "item") for i in out["by_api_key"]) == [post["id"]]
    assert ids(out["by_id"]) == [page["id"]]
    assert {post["id"], page["id"]} <= set(out["all_ids"])
    raised(site, [("item", "create")] * 2, [post["id"], page["id"]])


def test_items_update_publish_unpublish_and_destroy(site: LiveSite) -> None:
    out = site.node("items_update_publish_unpublish_destroy.mjs")
    steps = ["created", "updated", "published", "republished", "unpublished"]
    records = [shaped(out[step], "item") for step in steps]
    assert [r["title"] for r in records] == [
        "Draft",
        "Changed",
        "Changed",
        "Changed again",
        "Changed again",
    ]
    assert [r["meta"]["status"] for r in records] == [
        "draft",
        "draft",
        "published",
        "updated",
        "draft",
    ]
    assert {r["id"] for r in records} == {out["created"]["id"]}
    published = out["published"]["meta"]
    assert published["published_at"] is not None
    assert published["first_published_at"] is not None
    assert shaped(out["destroyed"], "item")["id"] == out["created"]["id"]
    not_found(out["afterwards"])
    expected = [
        ("item", "create"),
        ("item", "update"),
        ("item", "publish"),
        ("item", "update"),
        ("item", "unpublish"),
        ("item", "delete"),
    ]
    bodies = raised(site, expected, [out["created"]["id"]])
    (publish,) = [b for b in bodies if b["event_type"] == "publish"]
    assert publish["entity"]["meta"]["status"] == "published"


def test_items_paged_iterator_reads_every_page(site: LiveSite) -> None:
    out = site.node("items_paged.mjs")
    iterated = [shaped(i, "item") for i in out["iterated"]]
    assert sorted(ids(iterated)) == sorted(out["created_ids"]), "5 records, 3 pages of 2"
    assert len(iterated) == 5
    assert len(out["last_page"]) == 1
    raw = out["raw_page"]
    assert raw["meta"]["total_count"] == 5
    assert [i["type"] for i in raw["data"]] == ["item", "item"]


# -- uploads ---------------------------------------------------------------------------


def _local_file(tmp_path: Path, text: str) -> tuple[Path, bytes]:
    content = f"{text}\n".encode()
    path = tmp_path / "hello.txt"
    path.write_bytes(content)
    return path, content


def test_uploads_create_from_local_file(site: LiveSite, tmp_path: Path) -> None:
    path, content = _local_file(tmp_path, f"Hello from the CMA client ({tmp_path.name})")
    out = site.node("uploads_create_from_local_file.mjs", path=str(path))
    assert out["progress"] == ["REQUESTING_UPLOAD_URL", "UPLOADING_FILE", "CREATING_UPLOAD_OBJECT"]
    upload = shaped(out["upload"], "upload")
    assert (upload["size"], upload["md5"]) == (len(content), hashlib.md5(content).hexdigest())
    assert (upload["filename"], upload["basename"]) == ("hello-client.txt", "hello-client")
    assert upload["format"] == "txt"
    assert str(upload["mime_type"]).startswith("text/plain")
    assert (upload["is_image"], upload["width"], upload["height"]) == (False, None, None)
    assert (upload["author"], upload["copyright"]) == ("Ada Lovelace", "2026 Ada Lovelace")
    assert upload["notes"] == "Uploaded by the CMA client"
    assert upload["tags"] == ["client", "text"]
    assert isinstance(upload["path"], str) and upload["path"]
    # skipCreationIfAlreadyExists: GET /uploads?filter[fields][md5][eq]=... found it.
    assert out["again"]["id"] == upload["id"]
    # The bytes PUT to the upload request's URL are the asset at the upload's url.
    assert out["download"] == {"status": 200, "md5": upload["md5"]}
    raised(site, [("upload", "create")], [upload["id"]])


def test_uploads_find_list_and_update(site: LiveSite, tmp_path: Path) -> None:
    path, _ = _local_file(tmp_path, f"To be updated ({tmp_path.name})")
    out = site.node("uploads_find_list_update.mjs", path=str(path))
    created = shaped(out["created"], "upload")
    assert out["found"] == created
    assert created["id"] in ids(shaped(u, "upload") for u in out["listed"])
    for step in ("updated", "after"):
        upload = shaped(out[step], "upload")
        assert upload["id"] == created["id"]
        assert (upload["author"], upload["copyright"]) == ("Grace Hopper", "CC BY 4.0")
        assert (upload["notes"], upload["tags"]) == ("Updated by the CMA client", ["updated"])
        assert (upload["path"], upload["md5"]) == (created["path"], created["md5"])
    raised(site, [("upload", "create"), ("upload", "update")], [created["id"]])


def test_uploads_take_a_null_collection(site: LiveSite, tmp_path: Path) -> None:
    path, _ = _local_file(tmp_path, f"In no collection ({tmp_path.name})")
    out = site.node("uploads_null_collection.mjs", path=str(path))
    created, updated = shaped(out["created"], "upload"), shaped(out["updated"], "upload")
    assert created["upload_collection"] is None
    assert (updated["upload_collection"], updated["notes"]) == (None, "Loose")
    raised(site, [("upload", "create"), ("upload", "update")], [created["id"]])


def test_uploads_destroy(site: LiveSite, tmp_path: Path) -> None:
    path, _ = _local_file(tmp_path, f"To be destroyed ({tmp_path.name})")
    out = site.node("uploads_destroy.mjs", path=str(path))
    created = out["created"]
    assert shaped(out["destroyed"], "upload")["id"] == created["id"]
    not_found(out["afterwards"])
    raised(site, [("upload", "create"), ("upload", "delete")], [created["id"]])


# -- environments --------------------------------------------------------------------


def test_environments_list_and_find(site: LiveSite) -> None:
    out = site.node("environments_list_find.mjs")
    listed = [shaped(e, "environment") for e in out["listed"]]
    primaries = [e for e in listed if e["meta"]["primary"]]
    assert len(primaries) == 1, listed
    (primary,) = primaries
    assert primary["meta"]["status"] == "ready"
    assert primary["meta"]["read_only_mode"] is False
    assert out["found"] == primary


def test_environments_fork_rename_and_destroy(site: LiveSite) -> None:
    out = site.node("environments_fork_rename_destroy.mjs")
    forked, renamed = shaped(out["forked"], "environment"), shaped(out["renamed"], "environment")
    assert forked["id"].startswith("client-fork-")
    assert forked["meta"]["primary"] is False
    assert forked["meta"]["forked_from"] == out["source"]
    assert forked["meta"]["status"] == "ready"
    assert renamed["id"].startswith("client-renamed-")
    assert renamed["meta"]["forked_from"] == out["source"]
    assert out["found"] == renamed
    assert shaped(out["destroyed"], "environment")["id"] == renamed["id"]
    not_found(out["afterwards"])
    assert renamed["id"] not in out["listed_ids"]
    assert forked["id"] not in out["listed_ids"]
    expected = [("environment", "create"), ("environment", "update"), ("environment", "delete")]
    raised(site, expected, [forked["id"], renamed["id"]])


def test_environments_promote(site: LiveSite) -> None:
    out = site.node("environments_promote.mjs")
    source, fork = out["source"], shaped(out["forked"], "environment")["id"]
    assert shaped(out["promoted"], "environment")["meta"]["primary"] is True
    assert [e["id"] for e in out["during"] if e["meta"]["primary"]] == [fork]
    assert shaped(out["restored"], "environment")["id"] == source
    assert out["restored"]["meta"]["primary"] is True
    assert [e["id"] for e in out["after"] if e["meta"]["primary"]] == [source]
    assert fork not in ids(out["after"])
    expected = [
        ("environment", "create"),
        ("environment", "promote"),
        ("environment", "promote"),
        ("environment", "delete"),
    ]
    raised(site, expected, [source, fork])


def test_environment_option_sends_changes_to_the_sandbox(site: LiveSite) -> None:
    out = site.node("environment_option.mjs")
    sandbox, model = out["sandbox"]["id"], shaped(out["model"], "item_type")
    assert model["api_key"] in out["sandbox_models"]
    assert model["api_key"] not in out["primary_models"]
    expected = [("environment", "create"), ("environment", "delete")]
    raised(site, expected, [sandbox])
    (created,) = raised(site, [("item_type", "create")], [model["id"]])
    assert (created["environment"], created["is_environment_primary"]) == (sandbox, False)


# -- site-wide -----------------------------------------------------------------------


def test_maintenance_mode_find_activate_and_deactivate(site: LiveSite) -> None:
    out = site.node("maintenance_mode.mjs")
    steps = ["before", "activated", "during", "deactivated", "after"]
    states = [shaped(out[step], "maintenance_mode")["active"] for step in steps]
    assert states == [False, True, True, False, False]
    expected = [("maintenance_mode", "change")] * 2
    bodies = raised(site, expected, [out["activated"]["id"]])
    assert sorted(b["entity"]["attributes"]["active"] for b in bodies) == [False, True]


def test_build_triggers_create_find_list_and_update(site: LiveSite) -> None:
    trigger_url = site.url("/build")
    out = site.node("build_triggers_create_find_list_update.mjs", trigger_url=trigger_url)
    created = shaped(out["created"], "build_trigger")
    assert created["name"] == "Client: custom build"
    assert created["adapter"] == "custom"
    assert created["adapter_settings"] == {
        "trigger_url": trigger_url,
        "headers": {"X-Build": "client"},
    }
    assert created["frontend_url"] == "https://www.example.com/"
    assert (created["enabled"], created["indexing_enabled"]) == (True, False)
    assert created["autotrigger_on_scheduled_publications"] is False
    assert created["last_build_completed_at"] is None
    # Read-only, on the dispatcher itself: where the CI reports the build's outcome.
    assert created["webhook_url"].startswith(site.base_url + "/")
    assert out["found"] == created
    assert created["id"] in ids(shaped(t, "build_trigger") for t in out["listed"])
    updated = shaped(out["updated"], "build_trigger")
    assert (updated["id"], updated["name"]) == (created["id"], "Client: renamed build")
    assert updated["adapter_settings"]["headers"] == {"X-Build": "renamed"}
    assert updated["frontend_url"] is None
    assert updated["autotrigger_on_scheduled_publications"] is True
    assert updated["webhook_url"] == created["webhook_url"]


def test_build_trigger_reports_a_success_without_a_token(site: LiveSite) -> None:
    out = site.node("build_trigger_success.mjs", trigger_url=site.url("/build"))
    created = shaped(out["created"], "build_trigger")
    assert isinstance(shaped(out["building"], "build_trigger")["build_status"], str)
    assert 200 <= out["report"]["status"] < 300, out["report"]
    built = shaped(out["built"], "build_trigger")
    assert built["build_status"] == "success"
    assert built["last_build_completed_at"] is not None
    expected = [("build_trigger", "deploy_started"), ("build_trigger", "deploy_succeeded")]
    raised(site, expected, [created["id"]])


def test_build_trigger_reports_a_failure_and_is_destroyed(site: LiveSite) -> None:
    out = site.node("build_trigger_failure_destroy.mjs", trigger_url=site.url("/build"))
    created = out["created"]
    assert 400 <= out["forged"]["status"] < 500, f"a wrong secret is refused: {out['forged']}"
    assert 200 <= out["failed"]["status"] < 300, out["failed"]
    found = shaped(out["found"], "build_trigger")
    assert found["build_status"] == "error"
    assert found["last_build_completed_at"] is not None
    assert shaped(out["destroyed"], "build_trigger")["id"] == created["id"]
    not_found(out["afterwards"])
    expected = [("build_trigger", "deploy_started"), ("build_trigger", "deploy_failed")]
    raised(site, expected, [created["id"]])


def test_sso_users_list_and_find(site: LiveSite) -> None:
    out = site.node("sso_users_list_find.mjs")
    made = out["made"]
    listed = [shaped(u, "sso_user") for u in out["listed"]]
    assert set(ids(made)) <= set(ids(listed))
    found = shaped(out["found"], "sso_user")
    assert found["id"] == made[0]["id"]
    assert found["username"] == made[0]["attributes"]["username"]
    assert (found["first_name"], found["last_name"]) == ("Ada", "Lovelace")
    assert found["external_id"].startswith("ext-ada-")
    assert (found["is_active"], found["groups"]) == (True, [])
    raised(site, [("sso_user", "create")] * 2, ids(made))


def test_site_find(site: LiveSite) -> None:
    found = shaped(site.node("site_find.mjs")["found"], "site")
    assert isinstance(found["name"], str)
    assert found["locales"] and all(isinstance(locale, str) for locale in found["locales"])
    assert isinstance(found["timezone"], str)


def test_site_update_name(site: LiveSite) -> None:
    out = site.node("site_update.mjs")
    before, updated = shaped(out["before"], "site"), shaped(out["updated"], "site")
    assert updated["id"] == before["id"]
    assert updated["name"].startswith("Client site ")
    assert shaped(out["after"], "site")["name"] == updated["name"]
