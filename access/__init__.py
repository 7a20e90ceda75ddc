"""Who may see and do what: the one place access is decided.

- An insured person sees only their own data (another person's id answers 404).
- An institution terminal (designated hospital or pharmacy) sees a person only while the person's
  card or e-voucher is presented, in the ``X-Presented-Credential`` header.
- An operator sees the cities they administer and everything in them.
- A sandbox developer is the operator of their own sandbox worlds' cities, and of nothing else.
- A superuser sees everything.

The caller's credential also decides the channel a balance query goes through.
"""

import contextlib
from dataclasses import dataclass
from functools import cached_property

from django.db import models
from django.db.models import QuerySet
from django.utils.translation import gettext

from cards.credentials import PRESENTED_CREDENTIAL_HEADER, PresentedCredential
from common.errors import DomainError
from inquiry.channels import Channel
from users.error_codes import UserErrorCode
from users.models import User


@dataclass(frozen=True)
class Actor:
    user: User

    @property
    def role(self) -> str | None:
        return getattr(self.user, "role", None)

    @property
    def is_superuser(self) -> bool:
        return bool(getattr(self.user, "is_superuser", False))

    @property
    def is_insured(self) -> bool:
        return self.role == User.Role.INSURED and not self.is_superuser

    @property
    def is_institution(self) -> bool:
        return self.role == User.Role.INSTITUTION and not self.is_superuser

    @property
    def is_operator(self) -> bool:
        return self.role == User.Role.OPERATOR or self.is_developer or self.is_superuser

    @property
    def is_developer(self) -> bool:
        return self.role == User.Role.DEVELOPER and not self.is_superuser

    @property
    def default_channel(self) -> str:
        if self.is_insured:
            return Channel.ONLINE
        if self.is_institution:
            return Channel.INSTITUTION
        return Channel.COUNTER

    @cached_property
    def person_id(self) -> int | None:
        from persons.models import InsuredPerson

        if not self.is_insured:
            return None
        return (
            InsuredPerson.objects.filter(user_id=self.user.pk).values_list("id", flat=True).first()
        )

    @cached_property
    def city_ids(self) -> frozenset[int]:
        if not self.is_operator or self.is_superuser:
            return frozenset()
        return frozenset(self.user.cities.values_list("id", flat=True))  # type: ignore[union-attr]

    def administers(self, city_id: int) -> bool:
        return self.is_superuser or (self.is_operator and city_id in self.city_ids)


def actor_of(request) -> Actor:
    return Actor(user=request.user)


# --- Presented credentials (institution terminals) ------------------------------------------


# Where a request keeps the credential it presented, once read: the access policy and the
# balance answer both need it, and reading it costs a query.
_PRESENTED_ATTRIBUTE = "_presented_credential"

# Why a card that exists is no credential, by its state (an unknown number gets no reason).
_CARD_REFUSALS = {
    "PENDING": "This card is still being made and has not been handed over, so it identifies "
    "nobody yet.",
    "READY": "This card is ready for pick-up but has not been handed over, so it identifies "
    "nobody yet.",
    "LOST": "This card was reported lost and identifies nobody any more; the person applies for "
    "a replacement at the agency.",
}
_CARD_REFUSAL_ALTERNATIVE = " An activated e-voucher can be presented instead."


def presented_credential(request) -> PresentedCredential | None:
    """Read ``X-Presented-Credential: CARD <number>`` or ``EVOUCHER <code>``, once per request.
    A card can be presented once issued (even before activation, so the terminal can tell the
    person to activate it); a card not handed over yet or lost identifies nobody, and is refused
    with its reason. An e-voucher is presented by its current presentation code, which only the
    person's own app obtains (the dynamic QR code); older and expired codes identify nobody."""
    cached = getattr(request, _PRESENTED_ATTRIBUTE, None)
    if cached is not None:
        return cached
    credential = _credential_read(request)
    if credential is not None:
        # A caller's own request-like object that takes no attributes is read each time.
        with contextlib.suppress(AttributeError):
            setattr(request, _PRESENTED_ATTRIBUTE, credential)
    return credential


def _credential_read(request) -> PresentedCredential | None:
    from cards.models import SocialSecurityCard
    from cards.selectors import evoucher_person_presenting
    from common import clock

    raw = request.headers.get(PRESENTED_CREDENTIAL_HEADER)
    if raw is None:
        # Sent but empty is a malformed credential, not none: no silent "nobody presented".
        return None
    kind, _, value = raw.strip().partition(" ")
    kind, value = kind.upper(), value.strip()
    person_id = None
    if kind == "CARD" and value:
        card = (
            SocialSecurityCard.objects.filter(number=value)
            .values_list("person_id", "status")
            .first()
        )
        if card is not None and card[1] in _CARD_REFUSALS:
            raise DomainError(
                UserErrorCode.CREDENTIAL_INVALID,
                _CARD_REFUSALS[card[1]] + _CARD_REFUSAL_ALTERNATIVE,
                extra={"current_status": card[1]},
            )
        person_id = card[0] if card is not None else None
    elif kind == "EVOUCHER" and value:
        person_id = evoucher_person_presenting(code=value, now=clock.now())
        if person_id is None:
            raise DomainError(
                UserErrorCode.CREDENTIAL_INVALID,
                gettext(
                    "This e-voucher code is not current: a code lasts a few minutes and a newer one replaces it. Ask the person to show a fresh one."
                ),
            )
    else:
        raise DomainError(
            UserErrorCode.CREDENTIAL_INVALID,
            gettext("%(PRESENTED_CREDENTIAL_HEADER)s must be 'CARD <number>' or 'EVOUCHER <code>'.")
            % {"PRESENTED_CREDENTIAL_HEADER": PRESENTED_CREDENTIAL_HEADER},
        )
    if person_id is None:
        raise DomainError(UserErrorCode.CREDENTIAL_INVALID)
    return PresentedCredential(kind=kind, value=value, person_id=person_id)


def presented_credential_kind(actor: Actor, request) -> str | None:
    """The kind of credential a terminal presents ("CARD" or "EVOUCHER"); None for other callers,
    whose channel does not depend on one."""
    if not actor.is_institution:
        return None
    credential = presented_credential(request)
    return credential.kind if credential is not None else None


# --- Roles -----------------------------------------------------------------------------------


def require_role(actor: Actor, *roles: str) -> None:
    if actor.is_superuser or actor.role in roles:
        return
    if actor.is_developer and User.Role.OPERATOR in roles:
        return  # within their worlds' cities (require_city), as an operator
    raise DomainError(UserErrorCode.ROLE_NOT_ALLOWED)


def require_city(actor: Actor, city_id: int) -> None:
    if not actor.administers(city_id):
        raise DomainError(UserErrorCode.CITY_NOT_ADMINISTERED)


# --- What each role sees -------------------------------------------------------------------


def _person_filter(actor: Actor, request, person_path: str) -> models.Q:
    """A Q limiting rows to the persons the actor may see. ``person_path`` leads from the
    queried model to InsuredPerson ("" when the model is InsuredPerson itself)."""
    prefix = f"{person_path}__" if person_path else ""
    if actor.is_superuser:
        return models.Q()
    if actor.is_insured:
        return (
            models.Q(**{f"{prefix}id": actor.person_id}) if actor.person_id else models.Q(pk__in=[])
        )
    if actor.is_institution:
        credential = presented_credential(request)
        if credential is None:
            raise DomainError(UserErrorCode.CREDENTIAL_REQUIRED)
        return models.Q(**{f"{prefix}id": credential.person_id})
    if actor.is_operator:
        return models.Q(**{f"{prefix}city_id__in": actor.city_ids})
    return models.Q(pk__in=[])


def persons_visible(actor: Actor, request) -> QuerySet:
    from persons.models import InsuredPerson

    return InsuredPerson.objects.filter(_person_filter(actor, request, ""))


def person_owned_visible(
    actor: Actor, request, queryset: QuerySet, person_path: str = "person"
) -> QuerySet:
    """Rows belonging to a person (cards, vouchers, contributions, settlements...)."""
    return queryset.filter(_person_filter(actor, request, person_path))


def cities_visible(actor: Actor) -> QuerySet:
    from cities.models import City

    if actor.is_superuser:
        return City.objects.all()
    if actor.is_operator:
        return City.objects.filter(id__in=actor.city_ids)
    if actor.is_insured:
        return (
            City.objects.filter(persons__id=actor.person_id)
            if actor.person_id
            else City.objects.none()
        )
    if actor.is_institution:
        return City.objects.filter(institutions__id=actor.user.institution_id)
    return City.objects.none()


def city_owned_visible(actor: Actor, queryset: QuerySet, city_field: str = "city") -> QuerySet:
    """City-level rows (crediting runs, uploads, institutions...): operators of the city only."""
    if actor.is_superuser:
        return queryset
    if actor.is_operator:
        return queryset.filter(**{f"{city_field}_id__in": actor.city_ids})
    return queryset.none()


def accounts_visible(actor: Actor, request) -> QuerySet:
    from accounts.models import Account

    if actor.is_superuser:
        return Account.objects.all()
    if actor.is_operator:
        return Account.objects.filter(city_id__in=actor.city_ids)
    if actor.is_institution:
        own = models.Q(institution_id=actor.user.institution_id)
        if request.headers.get(PRESENTED_CREDENTIAL_HEADER) is not None:
            own |= models.Q(person_id=presented_credential(request).person_id)
        return Account.objects.filter(own)
    if actor.is_insured and actor.person_id:
        return Account.objects.filter(person_id=actor.person_id)
    return Account.objects.none()


def settlements_visible(actor: Actor, request) -> QuerySet:
    """Settlements: the institution that made them, the person settled (or the family member
    whose account paid), and operators of either city."""
    from settlement.models import Settlement

    if actor.is_superuser:
        return Settlement.objects.all()
    if actor.is_operator:
        return Settlement.objects.filter(
            models.Q(institution__city_id__in=actor.city_ids)
            | models.Q(person__city_id__in=actor.city_ids)
        )
    if actor.is_institution:
        return Settlement.objects.filter(institution_id=actor.user.institution_id)
    if actor.is_insured and actor.person_id:
        return Settlement.objects.filter(
            models.Q(person_id=actor.person_id)
            | models.Q(paying_account__person_id=actor.person_id)
        )
    return Settlement.objects.none()


def settlement_reversible(actor: Actor, settlement) -> bool:
    """Who may reverse (refund) a settlement: the institution whose terminal made it, an operator
    of the insured city (whose fund and personal accounts the reversal moves) and a superuser. An
    operator of the care city alone may not: the reversal would move another city's fund."""
    if actor.is_superuser:
        return True
    if actor.is_institution:
        return settlement.institution_id == actor.user.institution_id
    if actor.is_operator:
        return settlement.insured_city_id in actor.city_ids
    return False


def require_settlement_reversible(actor: Actor, settlement) -> None:
    from settlement.error_codes import SettlementErrorCode

    require_role(actor, User.Role.INSTITUTION, User.Role.OPERATOR)
    if not settlement_reversible(actor, settlement):
        if actor.is_operator:
            raise DomainError(SettlementErrorCode.REVERSAL_MOVES_OTHER_CITY_FUND)
        raise DomainError(UserErrorCode.ROLE_NOT_ALLOWED)


def reimbursement_claims_visible(actor: Actor) -> QuerySet:
    """Reimbursement claims: the person who filed them, and operators of the insured city (whose
    agency reviews them and whose fund pays). Nobody else, the care city's operators included."""
    from claims.models import ReimbursementClaim

    if actor.is_superuser:
        return ReimbursementClaim.objects.all()
    if actor.is_operator:
        return ReimbursementClaim.objects.filter(insured_city_id__in=actor.city_ids)
    if actor.is_insured and actor.person_id:
        return ReimbursementClaim.objects.filter(person_id=actor.person_id)
    return ReimbursementClaim.objects.none()


def _presented_person_id(request) -> int | None:
    if request.headers.get(PRESENTED_CREDENTIAL_HEADER) is None:
        return None
    return presented_credential(request).person_id


def filings_visible(actor: Actor, request) -> QuerySet:
    """An insured person sees their own filings; an operator those of persons insured in their
    cities and those naming their cities; a terminal, for the person presenting a card or
    e-voucher, the filings naming its own city (to see whether it may settle directly)."""
    from settlement.models import CrossCityFiling

    filings = CrossCityFiling.objects.select_related("person", "person__city", "city")
    if actor.is_superuser:
        return filings
    if actor.is_operator:
        return filings.filter(
            models.Q(person__city_id__in=actor.city_ids) | models.Q(city_id__in=actor.city_ids)
        )
    if actor.is_insured:
        return filings.filter(person_id=actor.person_id) if actor.person_id else filings.none()
    if actor.is_institution:
        person_id = _presented_person_id(request)
        if person_id is None:
            return filings.none()
        return filings.filter(person_id=person_id, city__institutions__id=actor.user.institution_id)
    return filings.none()


def family_authorizations_visible(actor: Actor, request) -> QuerySet:
    """An insured person sees the authorisations they gave and received; an operator those whose
    holder or beneficiary is insured in their cities; a terminal, for the person presenting a
    card or e-voucher, the active ones that person may draw on."""
    from settlement.models import FamilyAuthorization

    authorizations = FamilyAuthorization.objects.select_related("account_holder", "beneficiary")
    if actor.is_superuser:
        return authorizations
    if actor.is_operator:
        return authorizations.filter(
            models.Q(account_holder__city_id__in=actor.city_ids)
            | models.Q(beneficiary__city_id__in=actor.city_ids)
        )
    if actor.is_insured:
        if not actor.person_id:
            return authorizations.none()
        return authorizations.filter(
            models.Q(account_holder_id=actor.person_id) | models.Q(beneficiary_id=actor.person_id)
        )
    if actor.is_institution:
        person_id = _presented_person_id(request)
        if person_id is None:
            return authorizations.none()
        return authorizations.filter(beneficiary_id=person_id, revoked_at__isnull=True)
    return authorizations.none()


# --- The operators' console (the Django admin) ----------------------------------------------


def console_admits(actor: Actor) -> bool:
    """The console is for operators and superusers who are active staff. A terminal or an insured
    person marked staff by mistake still finds nothing there."""
    user = actor.user
    return actor.is_operator and bool(user.is_active) and bool(user.is_staff)


def simulated_clock_movable(actor: Actor) -> bool:
    """The sandbox's clock is a testing instrument: any operator (or superuser) may move it, in the
    API and the console alike, and a sandbox developer their own world's. It only moves forward,
    and only in sandbox mode."""
    return actor.is_superuser or actor.role in (User.Role.OPERATOR, User.Role.DEVELOPER)


def require_simulated_clock_movable(actor: Actor) -> None:
    if not simulated_clock_movable(actor):
        raise DomainError(UserErrorCode.ROLE_NOT_ALLOWED)


def national_editable(actor: Actor) -> bool:
    """Records that hold for every city at once (the e-voucher agreement, the catalogue, the beat
    schedules, the simulated clock) change only by a superuser: administering cities, even all of
    them, is not administering the country."""
    return actor.is_superuser


def _crosses_to_many(model, path: str) -> bool:
    for name in path.split("__")[:-1]:
        field = model._meta.get_field(name)
        if field.one_to_many or field.many_to_many:
            return True
        model = field.related_model
    return False


def city_rows_visible(actor: Actor, queryset: QuerySet, city_paths: tuple[str, ...]) -> QuerySet:
    """Rows tied to one city or several: ``city_paths`` lead from the model to a city id (a filing
    names the person's city and the city of care). A superuser sees every row; an operator the rows
    where any path reaches a city they administer; anyone else none."""
    if actor.is_superuser:
        return queryset
    if not actor.is_operator or not actor.city_ids:
        return queryset.none()
    condition = models.Q()
    for path in city_paths:
        condition |= models.Q(**{f"{path}__in": actor.city_ids})
    rows = queryset.filter(condition)
    if any(_crosses_to_many(queryset.model, path) for path in city_paths):
        return rows.distinct()
    return rows


def city_row_visible(actor: Actor, row: models.Model, city_paths: tuple[str, ...]) -> bool:
    """Whether this one row is among ``city_rows_visible`` (a row gone from the database is not)."""
    if actor.is_superuser:
        return True
    rows = type(row)._default_manager.filter(pk=row.pk)
    return city_rows_visible(actor, rows, city_paths).exists()


def events_visible(actor: Actor, request) -> QuerySet:
    """Events: an operator's (or developer's) cities, a terminal's own institution (and, in a
    request presenting a card or e-voucher, that person's), an insured person their own; a
    superuser all. A test event (``is_test``, triggered in the sandbox) is its triggering
    caller's alone, within those: nobody else hears of it. Without a request (a webhook
    endpoint's owner) nothing is presented."""
    from events.models import Event

    if actor.is_superuser:
        return Event.objects.all()
    if actor.is_operator:
        own = models.Q(city_id__in=actor.city_ids)
    elif actor.is_institution:
        own = models.Q(institution_id=actor.user.institution_id)
        person_id = _presented_person_id(request) if request is not None else None
        if person_id is not None:
            own |= models.Q(person_id=person_id)
    elif actor.is_insured and actor.person_id:
        own = models.Q(person_id=actor.person_id)
    else:
        return Event.objects.none()
    triggered_here = models.Q(triggered_by_id=actor.user.pk) if actor.user.pk else models.Q()
    return Event.objects.filter(own).filter(models.Q(is_test=False) | triggered_here)


def webhook_endpoints_visible(
    actor: Actor, queryset: QuerySet, owner_path: str = "owner"
) -> QuerySet:
    """Webhook endpoints (and their deliveries, through ``owner_path``): each caller their own,
    whatever the role; where they point and what they receive is their owner's business alone."""
    if not actor.user.pk:
        return queryset.none()
    return queryset.filter(**{f"{owner_path}_id": actor.user.pk})
