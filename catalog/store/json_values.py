"""How JSON columns are decoded, by the drivers (`json_deserializer`) and by raw cursor reads alike.

An answer or a page reads some 80 JSON values (labels, annotations, spec, links and tags of a
dozen entities), most of them empty. `json.loads` spent more time around the scanning than in it:
guessing the encoding of psycopg's bytes and three Python frames per call. The empty `{}` and `[]`
are made directly; anything else goes to the C scanner under `json.loads`, and text it does not
read to the end (surrounding whitespace, or not JSON at all) to `json.loads` itself, as before.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable
from typing import Any

_EMPTY: dict[str | bytes, Callable[[], Any]] = {"{}": dict, b"{}": dict, "[]": list, b"[]": list}
_SCAN = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed types the context as the scanner itself


def loads(data: str | bytes) -> Any:
    if (empty := _EMPTY.get(data)) is not None:
        return empty()
    text = data.decode() if isinstance(data, bytes) else data
    try:
        decoded, end = _SCAN(text, 0)
    except StopIteration:
        return json.loads(text)
    return decoded if end == len(text) else json.loads(text)
