"""The people a request is about and who acts on it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import EmailStr, Field

from models.base import Model
from models.text import Line


class Relationship(StrEnum):
    """How the requester is related to the student.

    EC 46600.1: only a "parent" may request a permit, meaning the natural or adoptive
    parent, the person having legal custody, or another educational rights holder.
    Anything else (grandparent, sibling, neighbour...) is refused at submission.
    """

    natural_parent = "natural_parent"
    adoptive_parent = "adoptive_parent"
    legal_custodian = "legal_custodian"
    educational_rights_holder = "educational_rights_holder"


class StudentBase(Model):
    """Who the student is, whichever process the request is for."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    first_name: Line = Field(min_length=1, max_length=100)
    last_name: Line = Field(min_length=1, max_length=100)
    # The grade in the school year sought; 0 is kindergarten.
    grade: int = Field(ge=0, le=12)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Student(StudentBase):
    """The student of an interdistrict request (seed 000)."""

    has_iep_or_504: bool = False
    expelled: bool = False
    pending_expulsion: bool = False


class Parent(Model):
    name: Line = Field(min_length=1, max_length=200)
    email: EmailStr
    relationship: Line = Field(min_length=1, max_length=64)
    language: Line = Field(default="en", min_length=2, max_length=16)


class Actor(Model):
    """Who performs a staff action; roles come from the district configuration."""

    name: Line = Field(min_length=1, max_length=100)
    roles: list[str] = Field(default_factory=list)
