"""The staff roles, as the district files spell them (`[[staff]] roles`). Only the names: who
may take which action is `rules.roles`, which re-exports these. They live at the bottom layer
because a district file's model checks its staff's roles when it is read."""

from __future__ import annotations

# Seed 000 (interdistrict permits, districts/paramount.toml).
PUPIL_SERVICES = "pupil_services"
DIRECTOR = "director"
SUPERINTENDENT_DESIGNEE = "superintendent_designee"
COUNTY_OFFICE = "county_office"  # hears appeals (EC 46601)
# A parent signed in to the portal (EC 46600.1; Rule 5110.1 VIII.A.2): never a staff role, so
# no district file gives it; the portal's proofs carry it for the parent's own actions.
PARENT = "parent"

# Rule 5110.1 (within-district transfers, districts/millard.toml), and the two the lottery's
# four-eyes check needs (docs/lottery.md "Certification": the draw is certified by a second
# staff member, not the one who set the seats).
ROLE_SUPERINTENDENT_DESIGNEE = SUPERINTENDENT_DESIGNEE  # III.D, VII.A, IX.B, X
ROLE_DIRECTOR_SPECIAL_EDUCATION = "director_special_education"  # III.C
ROLE_STUDENT_SERVICES = "student_services"  # VI.A, VIII.A
ROLE_SEAT_SETTER = "seat_setter"  # VII: enters the designated open seats
ROLE_LOTTERY_CERTIFIER = "lottery_certifier"  # certifies the draw before notices go out
WITHIN_ROLES = frozenset(
    {
        ROLE_SUPERINTENDENT_DESIGNEE,
        ROLE_DIRECTOR_SPECIAL_EDUCATION,
        ROLE_STUDENT_SERVICES,
        ROLE_SEAT_SETTER,
        ROLE_LOTTERY_CERTIFIER,
    }
)
