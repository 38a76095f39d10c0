"""`/uploads` and `/upload-requests` (contract §4: create, update, delete raise events).

A file reaches the dispatcher as it reaches DatoCMS, without S3: `POST
/upload-requests` answers a URL on the dispatcher (`/files/<random>/<name>`), the
client PUTs the bytes there (no API token: the random part is the secret), then
`POST /uploads` with that `path` makes the upload, whose `size`, `md5`,
`mime_type` and `url` come from the file. Files are served back at the same URL.
"""

from __future__ import annotations

import mimetypes

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from reference.api.context import (
    body_limit,
    content_of,
    environment_of,
    files_of,
    many,
    one,
    page_of,
    path_id,
    public_base,
)
from reference.api.documents import read_data
from reference.api.errors import ApiError
from reference.content import uploads
from reference.content.scope import Scope
from reference.events import Resource
from reference.exceptions import NotFoundError
from reference.files import FileFacts, is_upload_path, new_path

__all__ = ["public_routes", "routes"]

#: uploads per page when `page[limit]` is not given, as the CMA
DEFAULT_PAGE = 30


async def list_uploads(request: Request) -> Response:
    page = page_of(request.query_params, DEFAULT_PAGE)

    def read(scope: Scope) -> tuple[list[Resource], int]:
        found = scope.rows.all(scope.environment, "upload")
        return page.of(found), len(found)

    shown, total = await content_of(request).change(environment_of(request), read)
    return many(shown, total=total)


async def show_upload(request: Request) -> Response:
    def read(scope: Scope) -> Resource:
        return scope.get("upload", path_id(request))

    return one(await content_of(request).change(environment_of(request), read))


async def create_upload(request: Request) -> Response:
    data = await read_data(request, "upload", body_limit(request))
    attributes = data.get("attributes", {})
    facts = await _facts(request, attributes.get("path"))
    done = await content_of(request).change(
        environment_of(request),
        uploads.create_upload,
        attributes,
        facts,
        data.get("relationships", {}),
    )
    return one(done, 201)


async def update_upload(request: Request) -> Response:
    data = await read_data(request, "upload", body_limit(request), path_id(request))
    attributes = data.get("attributes", {})
    facts = await _facts(request, attributes.get("path")) if "path" in attributes else None
    done = await content_of(request).change(
        environment_of(request),
        uploads.update_upload,
        path_id(request),
        attributes,
        facts,
        data.get("relationships", {}),
    )
    return one(done)


async def delete_upload(request: Request) -> Response:
    done = await content_of(request).change(
        environment_of(request), uploads.delete_upload, path_id(request)
    )
    return one(done)


async def create_upload_request(request: Request) -> Response:
    data = await read_data(request, "upload_request", body_limit(request))
    attributes = data.get("attributes", {})
    for name in attributes:
        if name != "filename":
            raise ApiError(422, "INVALID_FIELD", f"unknown attribute {name!r}", name)
    path = new_path(attributes.get("filename"))
    done = await content_of(request).change(
        None, uploads.request_upload, path, f"{public_base(request)}/files{path}"
    )
    return one(done, 201)


async def put_file(request: Request) -> Response:
    """The client's PUT of a file to the URL its upload request was given."""
    path = "/" + path_id(request, "path")
    if not is_upload_path(path) or not await content_of(request).change(
        None, uploads.is_requested, path
    ):
        raise NotFoundError("upload request", path)
    await files_of(request).write(path, request.stream())
    return Response(status_code=200)


async def get_file(request: Request) -> Response:
    path = "/" + path_id(request, "path")
    location = files_of(request).location(path) if is_upload_path(path) else None
    if location is None or not location.is_file():
        raise NotFoundError("file", path)
    media = mimetypes.guess_type(location.name)[0] or "application/octet-stream"
    return FileResponse(location, media_type=media)


async def _facts(request: Request, path: object) -> FileFacts | None:
    """The file an upload's `path` names, when it names a requested upload."""
    if not isinstance(path, str) or not is_upload_path(path):
        return None
    requested = await content_of(request).change(None, uploads.is_requested, path)
    facts = await files_of(request).facts(path) if requested else None
    if requested and facts is None:
        raise ApiError(422, "INVALID_FIELD", f"no file was PUT to {path!r} yet", "path")
    return facts


routes = [
    Route("/uploads", list_uploads, methods=["GET"]),
    Route("/uploads", create_upload, methods=["POST"]),
    Route("/uploads/{id}", show_upload, methods=["GET"]),
    Route("/uploads/{id}", update_upload, methods=["PUT"]),
    Route("/uploads/{id}", delete_upload, methods=["DELETE"]),
    Route("/upload-requests", create_upload_request, methods=["POST"]),
]

#: reached without the API token
public_routes = [
    Route("/files/{path:path}", put_file, methods=["PUT"]),
    Route("/files/{path:path}", get_file, methods=["GET"]),
]
