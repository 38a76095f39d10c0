"""Settings > Webhooks: the list, the create and edit form with its preview, and delete."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reference.admin.csrf import read_form
from reference.admin.forms import HeaderRow, TriggerRow, WebhookForm, error_key
from reference.admin.labels import describe_trigger
from reference.admin.pages import Pages
from reference.admin.preview import render_preview
from reference.admin.session import flash
from reference.dispatcher import Dispatcher
from reference.exceptions import ConflictError, ValidationError
from reference.matrix import MATRIX
from reference.signatures import generate_secret
from reference.store import CallQuery
from reference.webhooks import Webhook

__all__ = ["webhook_routes"]

SAMPLE_EVENTS = [
    f"{entity}.{event}" for entity, rule in MATRIX.items() for event in rule.event_types
]


def webhook_routes(dispatcher: Dispatcher, pages: Pages) -> list[Route]:
    async def index(request: Request) -> Response:
        rows = []
        for webhook in await dispatcher.list_webhooks():
            calls, _ = await dispatcher.list_calls(
                CallQuery(limit=1, equals=(("webhook_id", webhook.id),))
            )
            triggers = [describe_trigger(t) for t in webhook.events]
            rows.append(
                {"webhook": webhook, "triggers": triggers, "last": calls[0] if calls else None}
            )
        return pages.render(request, "webhooks.html", {"title": "Webhooks", "rows": rows})

    async def new(request: Request) -> Response:
        return _form_page(request, WebhookForm(), None)

    async def edit(request: Request) -> Response:
        webhook = await _webhook(request)
        return _form_page(request, WebhookForm.from_webhook(webhook), webhook)

    async def save(request: Request) -> Response:
        existing = await _webhook(request) if "webhook_id" in request.path_params else None
        posted = await read_form(request)
        form = WebhookForm.from_form(posted, existing)
        action = posted.get("action")
        if action == "add_header":
            form.headers.append(HeaderRow())
            return _form_page(request, form, existing, focus="headers")
        if action == "add_trigger":
            form.triggers.append(TriggerRow())
            return _form_page(request, form, existing, focus="triggers")
        if action == "generate_secret":  # shown in the form, saved with it
            form.signing_secret = generate_secret()
            return _form_page(request, form, existing, focus="signing_secret")
        if action == "preview":
            event = posted.get("preview_event")
            return _form_page(request, form, existing, preview_event=str(event), focus="preview")
        attributes, rows = form.attributes(creating=existing is None)
        try:
            if existing is None:
                webhook = await dispatcher.create_webhook(attributes)
            else:
                webhook = await dispatcher.update_webhook(existing.id, attributes)
        except (ValidationError, ConflictError) as exc:
            errors = {error_key(exc, rows): exc.message}
            return _form_page(request, form, existing, errors=errors, status_code=422)
        flash(request, f"Webhook “{webhook.name}” saved.")
        return RedirectResponse(request.url_for("webhooks"), status_code=303)

    async def confirm_delete(request: Request) -> Response:
        webhook = await _webhook(request)
        _, calls = await dispatcher.list_calls(
            CallQuery(limit=1, equals=(("webhook_id", webhook.id),))
        )
        context = {"title": f"Delete {webhook.name}", "webhook": webhook, "calls": calls}
        return pages.render(request, "webhook_delete.html", context)

    async def delete(request: Request) -> Response:
        webhook = await _webhook(request)
        await read_form(request)
        await dispatcher.delete_webhook(webhook.id)
        flash(request, f"Webhook “{webhook.name}” deleted. Its calls stay in the activity log.")
        return RedirectResponse(request.url_for("webhooks"), status_code=303)

    async def _webhook(request: Request) -> Webhook:
        return await dispatcher.get_webhook(request.path_params["webhook_id"])

    def _form_page(
        request: Request,
        form: WebhookForm,
        existing: Webhook | None,
        *,
        errors: dict[str, str] | None = None,
        preview_event: str | None = None,
        focus: str | None = None,
        status_code: int = 200,
    ) -> Response:
        chosen = preview_event if preview_event in SAMPLE_EVENTS else _first_event(form)
        preview = None
        if preview_event is not None:
            preview = render_preview(
                form,
                chosen,
                webhook_id=existing.id if existing else "new",
                site_id=dispatcher.site_id,
                user_agent=dispatcher.settings.user_agent,
            )
        context: dict[str, Any] = {
            "title": f"Edit {existing.name}" if existing else "New webhook",
            "form": form.with_blank_rows(),
            "webhook": existing,
            "errors": errors or {},
            "preview": preview,
            "preview_event": chosen,
            "sample_events": SAMPLE_EVENTS,
            "focus": focus,
        }
        return pages.render(request, "webhook_form.html", context, status_code=status_code)

    return [
        Route("/webhooks", index, methods=["GET"], name="webhooks"),
        Route("/webhooks/new", new, methods=["GET"], name="webhook_new"),
        Route("/webhooks/new", save, methods=["POST"], name="webhook_create"),
        Route("/webhooks/{webhook_id}", edit, methods=["GET"], name="webhook_edit"),
        Route("/webhooks/{webhook_id}", save, methods=["POST"], name="webhook_update"),
        Route(
            "/webhooks/{webhook_id}/delete", confirm_delete, methods=["GET"], name="webhook_delete"
        ),
        Route("/webhooks/{webhook_id}/delete", delete, methods=["POST"], name="webhook_destroy"),
    ]


def _first_event(form: WebhookForm) -> str:
    for trigger in form.triggers:
        if trigger.entity_type and trigger.event_types:
            return f"{trigger.entity_type}.{trigger.event_types[0]}"
    return "item.update"
