"""The routing rules, in one place, for every route a complaint can take.

A complaint is routed by the classifier's proposal, by the citizen's own choice of category, by an
operator's assignment or reroute, by Open311 and by imports. Each of them asks this module, so the
rules of taxonomy.md hold whoever decides:

1. **Conflict of interest.** A conduct category (``conflict_of_interest``) goes to its oversight
   body; the agency accused is the *subject* and never receives it. When the oversight body is
   itself accused, the complaint goes to its supervisor (else to the operators).
2. **Named dossier.** A ``follows_dossier`` category goes to the agency that holds the dossier.
3. **Commune matters.** The commune-level agency needs a commune: with none named the operators
   pick; with one named that has its own committee in the directory, that committee gets it.
4. **Low confidence.** A machine proposal under the threshold goes to the operators.

And over all of them: **a ticket with a subject agency never goes to that agency**, whoever asks.
An attempt to assign it there is refused with :class:`RoutingRefused` and logged.

Everything here is pure: facts in, a :class:`Route` out.
"""

from __future__ import annotations

import enum
import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.config import AgencyConfig, CategoryConfig, Config

log = logging.getLogger(__name__)

TRIAGE = "triage"  # the operators' queue


class Reason(enum.StrEnum):
    """Why a route goes where it goes (recorded on events, shown to operators)."""

    CATEGORY = "category"  # the category's own agency
    OVERSIGHT = "oversight"  # rule 1: the oversight body of a conduct complaint
    SUPERVISOR = "supervisor"  # rule 1: the oversight body itself is accused
    DOSSIER = "dossier"  # rule 2: the agency holding the named dossier
    WARD = "ward"  # rule 3: the named commune's own committee
    NO_COMMUNE = "no_commune"  # rule 3: a commune matter with no commune named
    LOW_CONFIDENCE = "low_confidence"  # rule 4
    NO_AGENCY = "no_agency"  # a category the operators decide (khác)
    ACCUSED = "accused"  # the agency that would get it is the one complained about
    ASSIGNED = "assigned"  # a person chose the agency


@dataclass(frozen=True)
class Route:
    """Where a complaint goes (an agency id or ``TRIAGE``), about whom, and why."""

    agency: str
    subject_agency: str | None
    reason: Reason

    @property
    def to_operators(self) -> bool:
        """Tell whether the operators must pick the agency."""
        return self.agency == TRIAGE


class RoutingRefused(Exception):
    """A route the rules forbid: the reason is a stable code the presentation can word."""

    def __init__(self, reason: str, *, agency_id: str, ticket: str = "") -> None:
        super().__init__(f"{reason}: {ticket} to {agency_id}")
        self.reason = reason
        self.agency_id = agency_id


# Reasons of RoutingRefused.
REFUSED_SUBJECT = "subject_agency"  # a conduct ticket offered to the agency it accuses
REFUSED_UNKNOWN = "unknown_agency"


def _ward_key(name: str) -> str:
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


class Router:
    """Applies the routing rules of one directory; built once per configuration."""

    def __init__(
        self,
        categories: Sequence[CategoryConfig],
        agencies: Sequence[AgencyConfig],
        *,
        confidence_threshold: float,
    ) -> None:
        self.categories = {c.id: c for c in categories}
        self.agencies = {a.id: a for a in agencies}
        self.threshold = confidence_threshold
        self.commune = next((a.id for a in agencies if a.commune_level), None)
        self.ward_committee = {_ward_key(w): a.id for a in agencies for w in a.wards}

    @classmethod
    def from_config(cls, config: Config) -> Router:
        """Build the router of a configuration."""
        return cls(
            config.categories,
            config.agencies,
            confidence_threshold=config.triage.confidence_threshold,
        )

    def route(
        self,
        category_id: str,
        *,
        subject_agency: str | None = None,
        ward: str | None = None,
        dossier_agency: str | None = None,
        confidence: float | None = None,
        parties: frozenset[str] = frozenset(),
    ) -> Route:
        """Route a complaint of this category; ``confidence`` is None when a person chose it.

        ``parties`` are the agencies a conduct complaint tells of as acting in it (not only
        addressed): beside the subject, any of them may be accused too ("Sở bảo sang bảo hiểm,
        bảo hiểm bảo về Sở"), so none of them gets it from the machine.
        """
        category = self.categories.get(category_id)
        if category is None or category.agency is None:
            return Route(TRIAGE, subject_agency, Reason.NO_AGENCY)
        agency, reason = category.agency, Reason.CATEGORY
        if category.conflict_of_interest:
            reason = Reason.OVERSIGHT
            if subject_agency == agency:
                overseer = self.agencies.get(agency)
                supervisor = overseer.supervisor if overseer else None
                if supervisor:
                    agency, reason = supervisor, Reason.SUPERVISOR
                else:
                    agency = TRIAGE
        if category.follows_dossier and dossier_agency in self.agencies:
            agency, reason = dossier_agency, Reason.DOSSIER
        if agency == self.commune:
            if ward is None:
                agency, reason = TRIAGE, Reason.NO_COMMUNE
            elif own := self.ward_committee.get(_ward_key(ward)):
                agency, reason = own, Reason.WARD
        accused = agency == subject_agency or (category.conflict_of_interest and agency in parties)
        if agency != TRIAGE and accused:
            return Route(TRIAGE, subject_agency, Reason.ACCUSED)
        if confidence is not None and confidence < self.threshold and agency != TRIAGE:
            return Route(TRIAGE, subject_agency, Reason.LOW_CONFIDENCE)
        return Route(agency, subject_agency, reason)

    def assign(self, agency_id: str, *, subject_agency: str | None, ticket: str = "") -> Route:
        """Check a person's choice of agency for a ticket; refuse the agency it accuses."""
        if agency_id not in self.agencies:
            raise RoutingRefused(REFUSED_UNKNOWN, agency_id=agency_id, ticket=ticket)
        if subject_agency is not None and agency_id == subject_agency:
            log.warning(
                "refused to route %s to %s: the ticket is about that agency", ticket, agency_id
            )
            raise RoutingRefused(REFUSED_SUBJECT, agency_id=agency_id, ticket=ticket)
        return Route(agency_id, subject_agency, Reason.ASSIGNED)
