"""The lottery scenarios hypothesis draws, shared by the draw's properties
(tests/test_rules_tiers_lottery.py) and the seat ledger's (tests/rules/test_seat_ledger.py), so
both lives of a lottery are tried on the same kind of district."""

from __future__ import annotations

from hypothesis import strategies as st

from models.within_district import Applicant, Program, Residency, SeatKey

MONT_K = SeatKey(school="norris-elementary", program=Program.montessori, grade=0)
REG_2 = SeatKey(school="abbott-elementary", program=Program.regular, grade=2)
IB_9 = SeatKey(school="north-high", program=Program.ib, grade=9)
KEYS = [MONT_K, REG_2, IB_9]
OVERCROWDED = frozenset({"elk-ridge-elementary"})  # X.B: relief puts these first in a tier


def app(
    n: int | str,
    residency: Residency = Residency.other_resident,
    key: SeatKey = MONT_K,
    sibling: bool = False,
    current: str = "",
    student: str | None = None,
) -> Applicant:
    """Application ``a<n>`` of student ``s<n>`` unless another is named."""
    return Applicant(
        application_id=f"a{n}",
        student_id=student or f"s{n}",
        school=key.school,
        program=key.program,
        grade=key.grade,
        residency=residency,
        resident_sibling=sibling,
        current_school=current,
    )


@st.composite
def scenarios(draw_: st.DrawFn) -> tuple[list[Applicant], dict[SeatKey, int], str]:
    """Up to 40 applications over three keys, students applying for several keys, 0-8 seats
    a key, any seed."""
    n = draw_(st.integers(min_value=0, max_value=40))
    students = draw_(st.integers(min_value=1, max_value=45))
    people = []
    for i in range(n):
        key = draw_(st.sampled_from(KEYS))
        people.append(
            Applicant(
                application_id=f"app-{i}",
                student_id=f"stu-{draw_(st.integers(min_value=0, max_value=students - 1))}",
                school=key.school,
                program=key.program,
                grade=key.grade,
                residency=draw_(st.sampled_from(list(Residency))),
                resident_sibling=draw_(st.booleans()),
                current_school=draw_(st.sampled_from(["", "elk-ridge-elementary", "bell"])),
            )
        )
    seats = {k: draw_(st.integers(min_value=0, max_value=8)) for k in KEYS}
    seed = draw_(st.text(min_size=1, max_size=12))
    return people, seats, seed
