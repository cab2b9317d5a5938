"""Wrapping a handler into a Bolt listener that takes more arguments than the handler names.

Bolt passes a listener the arguments its signature names (`ack`, `body`, `client`, `services`…).
A wrapper that needs some the handler does not name gets the handler's signature plus those, and
hands the handler only what it asked for.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

Handler = Callable[..., None]


def as_listener(wrapper: Handler, handler: Handler, needs: Iterable[str]) -> Handler:
    """`wrapper`, named like `handler`, as a listener taking `handler`'s arguments plus `needs`."""
    own = inspect.signature(handler)
    extra = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in needs if n not in own.parameters]
    functools.update_wrapper(wrapper, handler)
    wrapper.__signature__ = own.replace(parameters=[*own.parameters.values(), *extra])  # type: ignore[attr-defined]
    del wrapper.__wrapped__  # type: ignore[attr-defined]  # Bolt reads the signature above, not the handler's
    return wrapper


def call(handler: Handler, kwargs: dict[str, Any]) -> None:
    """`handler` with the arguments it names, out of all the listener was given."""
    own = inspect.signature(handler).parameters
    handler(**{name: value for name, value in kwargs.items() if name in own})
