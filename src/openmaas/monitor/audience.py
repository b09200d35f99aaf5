"""Who is looking: the public status page, one workspace, or an admin.

Platform rows (workspace_id None) are seen by everyone; a workspace's rows by that
workspace and admins alone. Every reader of components, incidents and maintenance takes
an Audience, so a forgotten check cannot show a tenant's deployment to the world.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, true


@dataclass(frozen=True)
class Audience:
    workspace_id: str | None = None
    admin: bool = False

    def sees(self, workspace_id: str | None) -> bool:
        return self.admin or workspace_id is None or workspace_id == self.workspace_id

    def where(self, column) -> ColumnElement[bool]:
        if self.admin:
            return true()
        if self.workspace_id is None:
            return column.is_(None)
        return column.is_(None) | (column == self.workspace_id)


PUBLIC = Audience()
ADMIN = Audience(admin=True)


def audience_of(caller) -> Audience:
    """The audience of an authenticated `Caller`."""
    return ADMIN if caller.is_admin else Audience(caller.workspace_id)
