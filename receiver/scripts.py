"""Scripted sequences: per path and method, a list of steps; the last step repeats.

``[{"status": 500, "times": 2}, {"status": 200}]`` answers 500, 500, 200,
200, ... The step counter moves under a lock, so concurrent requests each get
their own step. A script beats the query string of the request.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import yaml

from receiver.behaviours import Behaviour, behaviour_from_mapping, behaviour_from_query
from receiver.exceptions import BehaviourError, ScriptError

__all__ = [
    "ANY_METHOD",
    "INSPECTION_PREFIX",
    "Route",
    "RouteJSON",
    "ScriptBook",
    "Step",
    "load_script",
    "parse_route",
    "parse_routes",
    "parse_steps",
]

INSPECTION_PREFIX = "/_receiver"
ANY_METHOD = "*"
_METHOD = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class RouteJSON(TypedDict):
    """A route as ``GET /_receiver/routes`` shows it."""

    path: str
    method: str
    steps: list[dict[str, object]]
    served: int


@dataclass(frozen=True)
class Step:
    """One step of a script: a behaviour played `times` times (the last one: forever)."""

    behaviour: Behaviour
    times: int = 1
    source: Mapping[str, object] | None = None


@dataclass(frozen=True)
class Route:
    """A script for one path and method (``*``: any method)."""

    path: str
    method: str
    steps: tuple[Step, ...]

    def step_index(self, served: int) -> int:
        """The step that answers the request after `served` earlier ones."""
        for index, step in enumerate(self.steps[:-1]):
            if served < step.times:
                return index
            served -= step.times
        return len(self.steps) - 1


def _int(value: object, field: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ScriptError(field, f"must be an integer >= {low}, got {value!r}")
    return value


def parse_steps(steps: object, field: str = "steps") -> tuple[Step, ...]:
    """Steps from JSON-like data: a non-empty list of objects, each with an optional `times`."""
    if not isinstance(steps, list) or not steps:
        raise ScriptError(field, f"must be a non-empty list of steps, got {steps!r}")
    parsed = []
    for index, item in enumerate(steps):
        where = f"{field}[{index}]"
        if not isinstance(item, Mapping):
            raise ScriptError(where, f"must be an object, got {item!r}")
        values = {str(key): value for key, value in item.items()}
        times = _int(values.pop("times", 1), f"{where}.times", 1)
        try:
            behaviour = behaviour_from_mapping(values)
        except BehaviourError as exc:
            raise ScriptError(f"{where}.{exc.field}", exc.message) from None
        parsed.append(Step(behaviour, times, dict(item)))
    return tuple(parsed)


def _path(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ScriptError(field, f"must be a path starting with '/', got {value!r}")
    if value == INSPECTION_PREFIX or value.startswith(INSPECTION_PREFIX + "/"):
        raise ScriptError(field, f"{INSPECTION_PREFIX} is reserved for the inspection API")
    return value


def _method(value: object, field: str) -> str:
    if value == ANY_METHOD:
        return ANY_METHOD
    if not isinstance(value, str) or not _METHOD.fullmatch(value):
        raise ScriptError(field, f"must be an HTTP method or '*', got {value!r}")
    return value.upper()


def parse_route(data: object, field: str = "") -> Route:
    """A route from ``{"path": "/hook", "method": "POST", "steps": [...]}`` (method optional)."""
    prefix = f"{field}." if field else ""
    if not isinstance(data, Mapping):
        raise ScriptError(field, f"must be an object with path and steps, got {data!r}")
    unknown = set(data) - {"path", "method", "steps"}
    if unknown:
        raise ScriptError(prefix + sorted(map(str, unknown))[0], "unknown key")
    return Route(
        path=_path(data.get("path"), prefix + "path"),
        method=_method(data.get("method", ANY_METHOD), prefix + "method"),
        steps=parse_steps(data.get("steps"), prefix + "steps"),
    )


def parse_routes(data: object) -> list[Route]:
    """Routes from ``{"routes": [...]}`` (the script file and ``PUT /_receiver/routes``)."""
    if not isinstance(data, Mapping) or set(data) != {"routes"}:
        raise ScriptError("", f'a script must be an object {{"routes": [...]}}, got {data!r}')
    routes = data["routes"]
    if not isinstance(routes, list):
        raise ScriptError("routes", f"must be a list, got {routes!r}")
    return [parse_route(route, f"routes[{index}]") for index, route in enumerate(routes)]


def load_script(path: Path) -> list[Route]:
    """Routes from a YAML or JSON file (JSON is read as YAML, which it is)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ScriptError("", f"cannot read script {str(path)!r}: {exc}") from None
    try:
        return parse_routes(data)
    except ScriptError as exc:
        raise ScriptError(exc.field, f"{exc.message} (in {str(path)!r})") from None


class ScriptBook:
    """The scripts in force, and how many requests each has served."""

    def __init__(self, routes: Sequence[Route] = ()) -> None:
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], Route] = {}
        self._served: dict[tuple[str, str], int] = {}
        self.replace_all(routes)

    def set(self, route: Route) -> None:
        """Add `route`, or replace the one for the same path and method (counter restarts)."""
        with self._lock:
            self._routes[(route.method, route.path)] = route
            self._served[(route.method, route.path)] = 0

    def replace_all(self, routes: Sequence[Route]) -> None:
        """Drop every route, then add `routes`."""
        with self._lock:
            self._routes = {(route.method, route.path): route for route in routes}
            self._served = dict.fromkeys(self._routes, 0)

    def remove(self, path: str, method: str = ANY_METHOD) -> bool:
        """Drop the route for `path` and `method`; whether there was one."""
        key = (method if method == ANY_METHOD else method.upper(), path)
        with self._lock:
            self._served.pop(key, None)
            return self._routes.pop(key, None) is not None

    def next(self, method: str, path: str) -> tuple[Behaviour, int] | None:
        """The behaviour (and step index) for the next request, or None if unscripted."""
        with self._lock:
            key = (method, path) if (method, path) in self._routes else (ANY_METHOD, path)
            route = self._routes.get(key)
            if route is None:
                return None
            index = route.step_index(self._served[key])
            self._served[key] += 1
            return route.steps[index].behaviour, index

    def behaviour_for(self, method: str, path: str, query: str) -> tuple[Behaviour, int | None]:
        """The script's next step for this request, else what its query asks for.

        Raises `BehaviourError` for a query that asks for something impossible.
        """
        scripted = self.next(method, path)
        if scripted is not None:
            return scripted
        return behaviour_from_query(query), None

    def to_json(self) -> list[RouteJSON]:
        """The routes as ``GET /_receiver/routes`` shows them."""
        with self._lock:
            return [
                {
                    "path": route.path,
                    "method": route.method,
                    "steps": [dict(step.source or {}) for step in route.steps],
                    "served": self._served[key],
                }
                for key, route in self._routes.items()
            ]
