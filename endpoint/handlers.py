"""The user's handler: a function of one `Event`, plain or `async`, found by
`module:function` when it runs in another process (the CLI, RQ's workers).

Returning means the event is handled; raising means it is not, and it is run again
on the retry schedule. A handler runs at least once per accepted event, and may run
more than once (a worker killed after the handler finished but before that was
recorded), so it should be idempotent, keyed on `event.webhook_call_id`.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from endpoint.events import Event
from endpoint.exceptions import ConfigurationError

__all__ = ["Handler", "call_handler", "handler_spec", "is_async", "load_handler"]

Handler = Callable[[Event], Awaitable[None] | None]


def load_handler(spec: str) -> Handler:
    """The function `spec` (`module:function`, the function may be dotted) names;
    `ConfigurationError` saying why when it cannot be had."""
    module_name, colon, qualname = spec.partition(":")
    if not colon or not module_name or not qualname:
        raise ConfigurationError("must be module:function, such as myapp.hooks:handle")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            raise ConfigurationError(f"no module named {exc.name!r}") from None
        raise ConfigurationError(f"importing {module_name!r} failed: {_one_line(exc)}") from None
    except Exception as exc:  # the module's own code raised: say so on one line
        raise ConfigurationError(f"importing {module_name!r} failed: {_one_line(exc)}") from None
    found: Any = module
    for part in qualname.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigurationError(f"{module_name!r} has no {qualname!r}") from None
    if not callable(found):
        raise ConfigurationError(f"{qualname!r} of {module_name!r} is not callable")
    handler: Handler = found
    return handler


def handler_spec(handler: Handler) -> str:
    """`module:function` for a handler that another process can import by that name;
    `ConfigurationError` for one it cannot (a lambda, a closure, a function of
    `__main__`)."""
    module = getattr(handler, "__module__", None)
    qualname = getattr(handler, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        raise ConfigurationError(
            f"the handler {handler!r} cannot be found by name from another process:"
            " give a function defined at the top of an importable module"
        )
    spec = f"{module}:{qualname}"
    if sys.modules.get(module) is not None and _lookup(module, qualname) is not handler:
        raise ConfigurationError(f"the handler is not what {spec!r} names")
    return spec


def _lookup(module: str, qualname: str) -> Any:
    found: Any = sys.modules[module]
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


def is_async(handler: Handler) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004  # an object with async __call__
    )


def call_handler(handler: Handler, event: Event) -> None:
    """Run `handler` on `event` to the end, in this thread (an async one on an event loop
    of its own)."""
    result = handler(event)
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _await(result: Awaitable[Any]) -> None:
    await result


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
