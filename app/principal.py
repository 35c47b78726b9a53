"""Who acts. Today a staff member is named by the front (the CLI's ``--actor``) and the roles
come from the district's roster when the action is taken; sign-in will make the name a
verified subject, and the roster stays the one source of roles."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The person acting, as the district's roster names them."""

    name: str
    subject: str = ""  # who signed in, as the sign-in proved it; "" until sign-in is required

    def __post_init__(self) -> None:
        if not self.subject:
            object.__setattr__(self, "subject", f"name:{self.name}")
