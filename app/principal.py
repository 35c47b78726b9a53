"""Who acts: the person a front's session proves (`app.signin`), known to the district's
roster by their address. Their roles are the roster's at each action (`app.context.staff`),
never the session's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """The person acting: their roster name, who signed in (``code:<address>`` or
    ``oidc:<issuer>#<subject>``) and their address. In-process callers (the tests, a front's
    own code) may name a roster member without an address; a front's people come from
    ``app.signin.signed_in``."""

    name: str
    subject: str = ""
    email: str = ""

    def __post_init__(self) -> None:
        if not self.subject:
            object.__setattr__(self, "subject", f"name:{self.name}")
