"""What every listener needs, built once by the composition root (`bot.cli.main`) and passed in.

No module globals: tests build their own `Services` against their own database. It holds no
Slack credentials (those go straight into the `WebClient` and Bolt `App`) and its repr hides the
catalog (whose database URL may carry a password), so logging it is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from catalog.core import Catalog


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    catalog: Catalog = field(repr=False)
    public_url: str = "http://localhost:3000"
    clock: Callable[[], datetime] = utcnow
