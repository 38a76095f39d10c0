"""The API's OpenAPI 3.1 description (contract §1), served without the token at
`GET /openapi.json`.

`OPERATIONS` is the table of the API's operations, a few lines each, made of
small schema helpers. The attributes a resource takes come from the content
model's and the webhooks' own tables where they have them (`ATTRIBUTES`, the
trigger matrix, the model and field defaults), so the description moves with the
code; tests/reference/test_openapi.py checks that the table lists exactly the
app's routes and methods, and tests/reference/test_api_schemathesis.py fuzzes
every operation it describes.

The server is the API's own root: where it is mounted (`root_path`), or the
`public_url` setting when there is one, so the paths hold under a prefix.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference.api.context import MAX_OFFSET, MAX_PAGE, dispatcher_of
from reference.api.webhook_calls import MAX_LIMIT
from reference.calls import CallStatus
from reference.content.builds import ADAPTERS
from reference.content.fields import FIELD_TYPES
from reference.content.schema import FIELD_ATTRIBUTES, MODEL_ATTRIBUTES, MODEL_DEFAULTS, MODEL_LINKS
from reference.matrix import ENVIRONMENT_TYPES, MATRIX, EntityRule
from reference.store import EQ_FIELDS, ORDER_FIELDS, RANGE_FIELDS
from reference.webhooks import ATTRIBUTES, MAX_HEADERS, MAX_URL_LENGTH, PAYLOAD_API_VERSIONS

__all__ = ["OPERATIONS", "Operation", "description", "public_routes"]

Schema = dict[str, Any]

# -- schema helpers ---------------------------------------------------------------------------

ANY: Schema = {}
OBJECT: Schema = {"type": "object"}
BOOLEAN: Schema = {"type": "boolean"}
WHOLE: Schema = {"type": "integer", "minimum": 0}
ID: Schema = {"type": "string"}


def ref(name: str) -> Schema:
    """A schema of the description's components."""
    return {"$ref": f"#/components/schemas/{name}"}


def string(**keywords: Any) -> Schema:
    return {"type": "string", **keywords}


def nullable(schema: Schema) -> Schema:
    """`schema` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def choice(values: Iterable[object]) -> Schema:
    return {"enum": list(values)}


def array(items: Schema, *, min_items: int = 0) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if min_items:
        schema["minItems"] = min_items
    return schema


def closed(properties: Mapping[str, Schema], required: Iterable[str] = ()) -> Schema:
    """An object of these properties and no others (contract §1: attribute objects are closed)."""
    schema: Schema = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if names := list(required):
        schema["required"] = names
    return schema


def to_one(kind: str, *, optional: bool = True) -> Schema:
    """A relationship: `{"data": {"type": kind, "id": ...}}`, or `{"data": null}` when optional."""
    target = closed({"type": {"const": kind}, "id": ID}, ["type", "id"])
    return closed({"data": nullable(target) if optional else target}, ["data"])


NON_BLANK = string(pattern=r"\S")
TEXT = string(pattern=r"\S", maxLength=255)
OPTIONAL_TEXT = nullable(string())
API_KEY = string(pattern=r"^[a-z][a-z0-9_]{0,63}$")
ENVIRONMENT_ID = string(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
JSON_API = "application/vnd.api+json"
HEADER_NAME = r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$"

# -- what each resource's body takes ------------------------------------------------------------


def _filter(kind: str) -> Schema:
    """contract §3: a filter on `kind`, whose ids are alternatives."""
    ids = choice(ENVIRONMENT_TYPES) if kind == "environment_type" else string(minLength=1)
    return closed(
        {"entity_type": {"const": kind}, "entity_ids": array(ids, min_items=1)},
        ["entity_type", "entity_ids"],
    )


def _trigger(entity_type: str, rule: EntityRule) -> Schema:
    """contract §3: one trigger of `entity_type`, with the events and filters it allows."""
    a_filter = {"anyOf": [_filter(kind) for kind in rule.filters]}
    return closed(
        {
            "entity_type": {"const": entity_type},
            "event_types": array(choice(rule.event_types), min_items=1),
            "filters": array(a_filter) if rule.filters else {"type": "array", "maxItems": 0},
        },
        ["entity_type", "event_types"],
    )


#: contract §3: a trigger of any entity type
TRIGGER: Schema = {"anyOf": [_trigger(name, rule) for name, rule in MATRIX.items()]}

#: contract §2
WEBHOOK: dict[str, Schema] = {
    "name": TEXT,
    "url": string(format="uri", maxLength=MAX_URL_LENGTH),
    "custom_payload": nullable(string(description="a Mustache template (contract §6)")),
    "headers": {
        "type": "object",
        "maxProperties": MAX_HEADERS,
        "propertyNames": string(pattern=HEADER_NAME),
        "additionalProperties": string(pattern=r"^[^\r\n\x00]*$"),
    },
    "events": array(ref("Trigger")),
    "http_basic_user": OPTIONAL_TEXT,
    "http_basic_password": OPTIONAL_TEXT,
    "enabled": BOOLEAN,
    "payload_api_version": choice(PAYLOAD_API_VERSIONS),
    "nested_items_in_payload": BOOLEAN,
    "auto_retry": BOOLEAN,
    "signing_secret": nullable(string(pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$")),
}
WEBHOOK_REQUIRED = [name for name, required in ATTRIBUTES.items() if required]

_MODEL_CHOICES: dict[str, Schema] = {
    "name": TEXT,
    "api_key": API_KEY,
    "ordering_direction": choice([None, "asc", "desc"]),
    "ordering_meta": choice(
        [None, "created_at", "updated_at", "first_published_at", "published_at"]
    ),
    "collection_appearance": choice(["compact", "table"]),
    "collection_appeareance": choice(["compact", "table"]),
    "hint": OPTIONAL_TEXT,
}
#: a model's attributes: the booleans of MODEL_DEFAULTS, and the others above
MODEL: dict[str, Schema] = {
    name: _MODEL_CHOICES.get(name, BOOLEAN if isinstance(MODEL_DEFAULTS.get(name), bool) else ANY)
    for name in MODEL_ATTRIBUTES
}
MODEL_RELATIONSHIPS = closed({name: to_one(kind) for name, kind in MODEL_LINKS.items()})
FIELD_RELATIONSHIPS = closed({"fieldset": to_one("fieldset")})

FIELD: dict[str, Schema] = {
    "label": TEXT,
    "api_key": API_KEY,
    "field_type": choice(FIELD_TYPES),
    "localized": BOOLEAN,
    "validators": {"type": "object", "additionalProperties": OBJECT},
    "position": WHOLE,
    "hint": OPTIONAL_TEXT,
    "default_value": ANY,
    "appearance": OBJECT,
    "deep_filtering_enabled": BOOLEAN,
    "content_link_enabled": BOOLEAN,
}

UPLOAD: dict[str, Schema] = {
    "path": NON_BLANK,
    **dict.fromkeys(("basename", "author", "copyright", "notes"), OPTIONAL_TEXT),
    "tags": array(string()),
    "default_field_metadata": OBJECT,
    "size": WHOLE,
    "format": OPTIONAL_TEXT,
    "width": nullable(WHOLE),
    "height": nullable(WHOLE),
    "alt": OPTIONAL_TEXT,
    "title": OPTIONAL_TEXT,
}

BUILD_TRIGGER: dict[str, Schema] = {
    "name": NON_BLANK,
    "adapter": choice(ADAPTERS),
    "adapter_settings": OBJECT,
    "webhook_token": string(pattern=r"^[A-Za-z0-9]{16,}$", description="set on create only"),
    "enabled": BOOLEAN,
    "frontend_url": OPTIONAL_TEXT,
    "autotrigger_on_scheduled_publications": BOOLEAN,
    "indexing_enabled": BOOLEAN,
}

SITE: dict[str, Schema] = {
    "name": NON_BLANK,
    "locales": array(string(minLength=1), min_items=1),
    "timezone": NON_BLANK,
    "no_index": BOOLEAN,
    "favicon": nullable(string(description="an upload id")),
    "global_seo": nullable(OBJECT),
    "theme": nullable(OBJECT),
    "require_2fa": BOOLEAN,
    "ip_tracking_enabled": BOOLEAN,
    "force_use_of_sandbox_environments": BOOLEAN,
}

SSO_USER: dict[str, Schema] = {
    "username": NON_BLANK,
    "external_id": OPTIONAL_TEXT,
    "first_name": OPTIONAL_TEXT,
    "last_name": OPTIONAL_TEXT,
    "is_active": BOOLEAN,
}


def document(
    kind: str,
    attributes: Schema | None = None,
    *,
    relationships: Schema | None = None,
    resource_id: Schema | None = None,
    required: Iterable[str] = (),
) -> Schema:
    """A JSON:API request document: `{"data": {"type": kind, ...}}` (contract §1)."""
    data: Schema = {"type": {"const": kind}}
    if resource_id is not None:
        data["id"] = resource_id
    if attributes is not None:
        data["attributes"] = attributes
    if relationships is not None:
        data["relationships"] = relationships
    data["meta"] = OBJECT
    # the top level may carry more (JSON:API's `meta`, `jsonapi`, `links`): it is not read
    top: Schema = {"type": "object", "properties": {"data": closed(data, ["type", *required])}}
    return top | {"required": ["data"]}


#: the relationships of a resource that has none a body may set
NO_LINKS: Schema = {"type": "object", "maxProperties": 0}


def create(
    kind: str, attributes: Mapping[str, Schema], required: Iterable[str], links: Schema = NO_LINKS
) -> Schema:
    """A create's body: no id (the server assigns it), the required attributes."""
    return document(
        kind, closed(attributes, required), relationships=links, required=["attributes"]
    )


def update(kind: str, attributes: Mapping[str, Schema], links: Schema = NO_LINKS) -> Schema:
    """An update's body: any of the attributes; an id, if given, is the URL's."""
    return document(kind, closed(attributes), relationships=links, resource_id=ID)


# -- answers ------------------------------------------------------------------------------------


#: the resource types the API answers with, each a schema of the description's components
KINDS = (
    "webhook",
    "webhook_call",
    "environment",
    "item_type",
    "field",
    "item",
    "upload",
    "upload_request",
    "build_trigger",
    "site",
    "maintenance_mode",
    "sso_user",
)


def resource(kind: str) -> Schema:
    """A resource object of the answers; its attributes are the CMA's (contract §1)."""
    return {
        "type": "object",
        "properties": {
            "id": ID,
            "type": {"const": kind},
            "attributes": OBJECT,
            "relationships": OBJECT,
            "meta": OBJECT,
        },
        "required": ["id", "type"],
    }


def one(kind: str) -> Schema:
    """`{"data": {...}}`; a call's answer includes its webhook."""
    assert kind in KINDS, kind
    return closed({"data": ref(kind), "included": array(ref("webhook"))}, ["data"])


def many(kind: str) -> Schema:
    """`{"data": [...], "meta": {"total_count": N}}` (contract §1)."""
    assert kind in KINDS, kind
    return closed(
        {
            "data": array(ref(kind)),
            "meta": closed({"total_count": WHOLE}, ["total_count"]),
            "included": array(ref("webhook")),
        },
        ["data", "meta"],
    )


ERROR: Schema = closed(
    {
        "data": array(
            closed(
                {
                    "id": ID,
                    "type": {"const": "api_error"},
                    "attributes": closed(
                        {
                            "code": string(),
                            "details": closed(
                                {"field": string(), "message": string()}, ["message"]
                            ),
                        },
                        ["code", "details"],
                    ),
                },
                ["id", "type", "attributes"],
            ),
            min_items=1,
        )
    },
    ["data"],
)

_ERRORS = {
    401: "missing or wrong API token",
    404: "no such resource (or environment, with X-Environment)",
    409: "the resource already exists",
    413: "the request body is too large",
    422: "an attribute, relationship or parameter is wrong; `details.field` names it",
}

# -- parameters ---------------------------------------------------------------------------------


def query(name: str, schema: Schema, text: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": text}


OFFSET: Schema = {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}
PAGE = (
    query("page[offset]", OFFSET, "how many to skip"),
    query(
        "page[limit]", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}, "at most this many"
    ),
)
ITEMS_QUERY = (
    *PAGE,
    query("filter[type]", string(), "model ids or api_keys, comma-separated"),
    query("filter[ids]", string(), "record ids, comma-separated"),
)
_CALL_EQUALS: dict[str, Schema] = {name: string() for name in EQ_FIELDS} | {
    "status": choice(CallStatus)
}
CALLS_QUERY = (
    query("page[offset]", OFFSET, "how many to skip"),
    query("page[limit]", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "30 by default"),
    query("filter[ids]", string(), "call ids, comma-separated"),
    *(
        query(f"filter[fields][{name}][eq]", schema, f"calls whose {name} is this")
        for name, schema in _CALL_EQUALS.items()
    ),
    *(
        query(f"filter[fields][{name}][{op}]", string(format="date-time"), f"{name} {op} this")
        for name in RANGE_FIELDS
        for op in ("gt", "lt")
    ),
    query(
        "order_by",
        choice(f"{name}_{way}" for name in ORDER_FIELDS for way in ("asc", "desc")),
        "created_at_desc by default",
    ),
)
ENVIRONMENT_HEADER: Schema = {
    "name": "X-Environment",
    "in": "header",
    "required": False,
    "schema": string(pattern=r"^([a-z0-9][a-z0-9-]{0,63})?$"),
    "description": "the environment; the primary one when absent or empty",
}


# -- operations ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operation:
    """One method of one route, as the description shows it."""

    method: str
    path: str
    operation_id: str
    summary: str
    answer: Schema | None  # the success document; None for an empty answer
    status: int = 200
    body: Schema | None = None
    query: tuple[Schema, ...] = ()
    scoped: bool = False  # an environment's resource: takes X-Environment
    public: bool = False  # no API token: the URL is the secret
    conflict: bool = False  # may answer 409
    media: str = "application/json"  # of the success answer
    more: tuple[tuple[int, Schema], ...] = ()  # other answers, by status

    def describe(self) -> Schema:
        names = re.findall(r"{(\w+)}", self.path)
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": string()} for name in names
        ]
        parameters += [*self.query, *([ENVIRONMENT_HEADER] if self.scoped else [])]
        success: Schema = {"description": self.summary}
        if self.answer is not None:
            success["content"] = {self.media: {"schema": self.answer}}
        responses = {str(self.status): success}
        for code in self._errors():
            responses[str(code)] = {"$ref": f"#/components/responses/{code}"}
        responses |= {str(code): response for code, response in self.more}
        described: Schema = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": [self.path.split("/")[1]],
            "responses": responses,
        }
        if parameters:
            described["parameters"] = parameters
        if self.body is not None:
            described["requestBody"] = {"required": True, "content": self._body_content()}
        if self.public:
            described["security"] = []
        return described

    def _body_content(self) -> Schema:
        """A file as it is, a JSON document under either media type (contract §1)."""
        if self.body is not None and self.body.get("format") == "binary":
            return {"application/octet-stream": {"schema": self.body}}
        schema = ref(self.operation_id)
        return {media: {"schema": schema} for media in ("application/json", JSON_API)}

    def _errors(self) -> list[int]:
        codes = [] if self.public else [401]
        codes += [404, *([409] if self.conflict else [])]
        if self.body is not None:
            codes.append(413)
        return [*codes, 422]


def _error_response(code: int) -> Schema:
    response: Schema = {
        "description": _ERRORS[code],
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if code == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return response


def _crud(
    path: str,
    kind: str,
    name: str,
    attributes: Mapping[str, Schema],
    required: Iterable[str],
    *,
    paged: tuple[Schema, ...] = (),
    scoped: bool = False,
    key: str = "id",
    links: Schema = NO_LINKS,
) -> list[Operation]:
    """List, create, show, update and delete of a resource at `path` and `path/{key}`."""
    each = f"{path}/{{{key}}}"
    # fmt: off
    return [
        Operation(
            "GET", path, f"list_{name}s", f"List {kind}s", many(kind), query=paged, scoped=scoped,
        ),
        Operation(
            "POST", path, f"create_{name}", f"Create a {kind}", one(kind), 201,
            create(kind, attributes, required, links), scoped=scoped,
        ),
        Operation("GET", each, f"show_{name}", f"Show a {kind}", one(kind), scoped=scoped),
        Operation(
            "PUT", each, f"update_{name}", f"Update a {kind}", one(kind),
            body=update(kind, attributes, links), scoped=scoped,
        ),
        Operation("DELETE", each, f"delete_{name}", f"Delete a {kind}", one(kind), scoped=scoped),
    ]
    # fmt: on


_NEW_ENVIRONMENT = document("environment", resource_id=ENVIRONMENT_ID, required=["id"])
_RECORD_LINKS = closed({"item_type": to_one("item_type", optional=False)}, ["item_type"])
_UPLOAD_LINKS = closed({"upload_collection": to_one("upload_collection")})
_BUILD_RESULT: Schema = {
    "type": "object",
    "properties": {"status": choice(["success", "error"])},
    "required": ["status"],
}
_HEALTH: Schema = {
    "type": "object",
    "properties": {"status": choice(["ok", "unavailable"]), "store": string()},
    "required": ["status"],
}
_HEALTH_JSON: Schema = {"application/json": {"schema": _HEALTH}}
_RECORD_VALUES = {"type": "object", "description": "the model's fields, by api_key"}

# fmt: off
OPERATIONS: list[Operation] = [
    *_crud("/webhooks", "webhook", "webhook", WEBHOOK, WEBHOOK_REQUIRED, key="webhook_id"),
    Operation(
        "PATCH", "/webhooks/{webhook_id}", "patch_webhook", "Update a webhook (as PUT)",
        one("webhook"), body=update("webhook", WEBHOOK),
    ),
    Operation(
        "GET", "/webhook_calls", "list_calls", "The activity log (contract §7)",
        many("webhook_call"), query=CALLS_QUERY,
    ),
    Operation("GET", "/webhook_calls/{call_id}", "show_call", "Show a call", one("webhook_call")),
    Operation(
        "POST", "/webhook_calls/{call_id}/resend_webhook", "resend_call",
        "Send a call again (contract §8)", None, 204,
    ),
    Operation(
        "GET", "/environments", "list_environments", "List environments", many("environment"),
    ),
    Operation(
        "GET", "/environments/{id}", "show_environment", "Show an environment",
        one("environment"),
    ),
    Operation(
        "DELETE", "/environments/{id}", "delete_environment", "Delete a sandbox environment",
        one("environment"),
    ),
    Operation(
        "POST", "/environments/{id}/fork", "fork_environment", "Fork an environment",
        one("environment"), 201, _NEW_ENVIRONMENT, conflict=True,
    ),
    Operation(
        "PUT", "/environments/{id}/rename", "rename_environment", "Rename an environment",
        one("environment"), body=_NEW_ENVIRONMENT, conflict=True,
    ),
    Operation(
        "PUT", "/environments/{id}/promote", "promote_environment",
        "Make an environment the primary one", one("environment"),
    ),
    *_crud(
        "/item-types", "item_type", "model", MODEL,
        [name for name, required in MODEL_ATTRIBUTES.items() if required], scoped=True,
        links=MODEL_RELATIONSHIPS,
    ),
    Operation(
        "GET", "/item-types/{id}/fields", "list_fields", "List a model's fields", many("field"),
        scoped=True,
    ),
    Operation(
        "POST", "/item-types/{id}/fields", "create_field", "Add a field to a model", one("field"),
        201,
        create(
            "field", FIELD, [n for n, required in FIELD_ATTRIBUTES.items() if required],
            FIELD_RELATIONSHIPS,
        ),
        scoped=True,
    ),
    Operation("GET", "/fields/{id}", "show_field", "Show a field", one("field"), scoped=True),
    Operation(
        "PUT", "/fields/{id}", "update_field", "Update a field", one("field"),
        body=update("field", FIELD, FIELD_RELATIONSHIPS), scoped=True,
    ),
    Operation(
        "DELETE", "/fields/{id}", "delete_field", "Delete a field", one("field"), scoped=True,
    ),
    Operation(
        "GET", "/items", "list_records", "List records", many("item"), query=ITEMS_QUERY,
        scoped=True,
    ),
    Operation(
        "POST", "/items", "create_record", "Create a record", one("item"), 201,
        document("item", _RECORD_VALUES, relationships=_RECORD_LINKS, required=["relationships"]),
        scoped=True,
    ),
    Operation("GET", "/items/{id}", "show_record", "Show a record", one("item"), scoped=True),
    Operation(
        "PUT", "/items/{id}", "update_record", "Update a record", one("item"),
        body=document("item", _RECORD_VALUES, resource_id=ID, relationships=NO_LINKS),
        scoped=True,
    ),
    Operation(
        "DELETE", "/items/{id}", "delete_record", "Delete a record", one("item"), scoped=True,
    ),
    Operation(
        "PUT", "/items/{id}/publish", "publish_record", "Publish a record", one("item"),
        scoped=True,
    ),
    Operation(
        "PUT", "/items/{id}/unpublish", "unpublish_record", "Unpublish a record", one("item"),
        scoped=True,
    ),
    Operation(
        "GET", "/uploads", "list_uploads", "List uploads", many("upload"), query=PAGE,
        scoped=True,
    ),
    Operation(
        "POST", "/uploads", "create_upload", "Create an upload", one("upload"), 201,
        create("upload", UPLOAD, ["path"], _UPLOAD_LINKS),
        scoped=True,
    ),
    Operation("GET", "/uploads/{id}", "show_upload", "Show an upload", one("upload"), scoped=True),
    Operation(
        "PUT", "/uploads/{id}", "update_upload", "Update an upload", one("upload"),
        body=update("upload", UPLOAD, _UPLOAD_LINKS),
        scoped=True,
    ),
    Operation(
        "DELETE", "/uploads/{id}", "delete_upload", "Delete an upload", one("upload"),
        scoped=True,
    ),
    Operation(
        "POST", "/upload-requests", "create_upload_request",
        "Ask where to PUT a file (its `url`, under /files)", one("upload_request"), 201,
        document("upload_request", closed({"filename": OPTIONAL_TEXT})),
    ),
    *_crud(
        "/build-triggers", "build_trigger", "build_trigger", BUILD_TRIGGER, ["name", "adapter"]
    ),
    Operation(
        "POST", "/build-triggers/{id}/trigger", "trigger_build", "Start a build", None, 204,
    ),
    Operation("GET", "/site", "show_site", "Show the site", one("site")),
    Operation(
        "PUT", "/site", "update_site", "Update the site", one("site"), body=update("site", SITE),
    ),
    Operation(
        "GET", "/maintenance-mode", "show_maintenance_mode", "Show maintenance mode",
        one("maintenance_mode"),
    ),
    Operation(
        "PUT", "/maintenance-mode/activate", "activate_maintenance_mode",
        "Turn maintenance mode on", one("maintenance_mode"),
    ),
    Operation(
        "PUT", "/maintenance-mode/deactivate", "deactivate_maintenance_mode",
        "Turn maintenance mode off", one("maintenance_mode"),
    ),
    Operation("GET", "/sso-users", "list_sso_users", "List SSO users", many("sso_user")),
    Operation(
        "POST", "/sso-users", "create_sso_user", "Create an SSO user (extension)", one("sso_user"),
        201, create("sso_user", SSO_USER, ["username"]),
    ),
    Operation("GET", "/sso-users/{id}", "show_sso_user", "Show an SSO user", one("sso_user")),
    # reached without the API token
    Operation(
        "POST", "/deploy-results/{token}", "deploy_results",
        "A build's result, posted by the CI to its trigger's `webhook_url`", None, 204,
        _BUILD_RESULT,
        public=True,
    ),
    Operation(
        "PUT", "/files/{path}", "put_file", "The file of an upload request, PUT to its `url`",
        None, body=string(format="binary"), public=True,
    ),
    Operation(
        "GET", "/files/{path}", "get_file", "An uploaded file (its media type from its name)",
        ANY, media="*/*", public=True,
    ),
    Operation("GET", "/openapi.json", "openapi", "This description", OBJECT, public=True),
    Operation(
        "GET", "/health", "health", "Liveness; with `?ready=1`, readiness (the store answers)",
        _HEALTH, query=(query("ready", string(), "1 to check the store too"),), public=True,
        more=((503, {"description": "the store does not answer", "content": _HEALTH_JSON}),),
    ),
    Operation(
        "GET", "/metrics", "metrics",
        "Prometheus metrics (behind the `metrics_token`, when there is one)", {"type": "string"},
        media="text/plain", public=True, more=((401, {"$ref": "#/components/responses/401"}),),
    ),
]
# fmt: on


def description(server: str = "/") -> Schema:
    """The OpenAPI 3.1 document of the API reached at `server`."""
    paths: dict[str, Schema] = {}
    for operation in OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = operation.describe()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "DatoCMS-style webhooks dispatcher",
            "version": _version(),
            "description": "The dispatcher's HTTP API, as DatoCMS's CMA (docs/contract.md).",
        },
        "servers": [{"url": server}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": ERROR,
                "Trigger": TRIGGER,
                **{kind: resource(kind) for kind in KINDS},
                **_bodies(),
            },
            "responses": {str(code): _error_response(code) for code in _ERRORS},
        },
    }


async def openapi(request: Request) -> Response:
    """`GET /openapi.json`: this description, for the API as this request reaches it."""
    configured = dispatcher_of(request).settings.public_url
    server = configured.rstrip("/") if configured else request.scope.get("root_path") or "/"
    return JSONResponse(description(server))


def _bodies() -> dict[str, Schema]:
    """The JSON request documents, by operation id (each is given under two media types)."""
    return {
        operation.operation_id: operation.body
        for operation in OPERATIONS
        if operation.body is not None and operation.body.get("format") != "binary"
    }


def _version() -> str:
    try:
        return importlib.metadata.version("datocms-webhooks")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


#: reached without the API token
public_routes = [Route("/openapi.json", openapi, methods=["GET"])]
