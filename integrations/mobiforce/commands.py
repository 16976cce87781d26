"""Every documented Mobiforce command: where it lives, how it is sent, whether it only reads.

One table, used by the client (reads go out as GET and may be retried after a network error;
writes go out as POST and are never repeated, because a write that timed out may still have
happened and a repeat could create a second task), by the error table and by the simulator.

Paths follow the document and its errata: most commands are under ``/v5/``, ``close-task`` and
``update-subdivision`` under ``/v4/``, the legacy ``get-taskupdates`` under the bare ``/api/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final


class Kind(Enum):
    READ = "read"
    WRITE = "write"


@dataclass(frozen=True)
class Command:
    name: str
    kind: Kind
    version: str = "v5"  # "" for the unversioned get-taskupdates

    @property
    def path(self) -> str:
        """The path after the base URL (``…/api``): ``/v5/get-task``."""
        return f"/{self.version}/{self.name}" if self.version else f"/{self.name}"

    @property
    def method(self) -> str:
        return "GET" if self.kind is Kind.READ else "POST"


R, W = Kind.READ, Kind.WRITE

_TABLE: Final = (
    # tasks
    Command("create-task", W),
    Command("update-task", W),
    Command("get-task", R),
    Command("get-task-list", R),
    Command("add-template-fields-to-task", W),
    Command("remove-template-fields-from-task", W),
    Command("create-comment", W),
    Command("close-task", W, "v4"),
    Command("get-taskupdates", R, ""),
    # contractors (clients/objects), their contact persons and phones, subdivisions
    Command("create-contractor", W),
    Command("update-contractor", W),
    Command("get-contractor", R),
    Command("get-contractor-by-external-id", R),
    Command("get-contractor-list", R),
    Command("create-contractor-person", W),
    Command("update-contractor-person", W),
    Command("get-contractor-person", R),
    Command("delete-contractor-person", W),
    Command("create-contractor-phone", W),
    Command("update-contractor-phone", W),
    Command("get-contractor-phone", R),
    Command("delete-contractor-phone", W),
    Command("add-subdivision", W),
    Command("update-subdivision", W, "v4"),
    # template fields and templates
    Command("create-template-field", W),
    Command("update-template-field", W),
    Command("get-template-field", R),
    Command("get-template-field-list", R),
    Command("delete-template-field", W),
    Command("create-template", W),
    Command("update-template", W),
    Command("get-template", R),
    Command("get-template-list", R),
    Command("delete-template", W),
    # equipment models and equipment
    Command("create-equipment-model", W),
    Command("update-equipment-model", W),
    Command("get-equipment-model-list", R),
    Command("delete-equipment-model", W),
    Command("create-equipment", W),
    Command("update-equipment", W),
    Command("get-equipment", R),
    Command("get-equipment-list", R),
    Command("delete-equipment", W),
    # employees and the change feed
    Command("get-employee-list", R),
    Command("get-updates", R),
)

COMMANDS: Final[dict[str, Command]] = {command.name: command for command in _TABLE}
READ_COMMANDS: Final = frozenset(name for name, c in COMMANDS.items() if c.kind is Kind.READ)
WRITE_COMMANDS: Final = frozenset(name for name, c in COMMANDS.items() if c.kind is Kind.WRITE)

# Lists answer 10 rows a page; ``page`` counts from 0.
PAGE_SIZE: Final = 10
# get-updates answers at most this many rows, in ascending usn.
FEED_PAGE_SIZE: Final = 3000
