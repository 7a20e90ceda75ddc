from datetime import timedelta
from decimal import Decimal

import factory

from accounts.models import Account, Transfer
from accounts.services import Leg, transfer_post
from cards.models import SocialSecurityCard
from cards.services import card_activate, card_apply
from common import clock
from institutions.models import Institution
from provisioning.services import institution_provision
from settlement.models import CatalogItem, CrossCityFiling

TEST_PIN = "258036"


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution

    code = factory.Sequence(lambda n: f"H{n:06d}")
    name = factory.Sequence(lambda n: f"Designated Hospital {n}")
    kind = Institution.Kind.HOSPITAL
    level = 3
    city = factory.SubFactory("cities.tests.factories.CityFactory")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        institution = super()._create(model_class, *args, **kwargs)
        institution_provision(institution=institution)
        return institution


class PharmacyFactory(InstitutionFactory):
    code = factory.Sequence(lambda n: f"P{n:06d}")
    name = factory.Sequence(lambda n: f"Designated Pharmacy {n}")
    kind = Institution.Kind.PHARMACY
    level = None


class CatalogItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogItem
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"T-ITEM-{n:05d}")
    name = factory.Sequence(lambda n: f"Test item {n}")
    kind = CatalogItem.Kind.DRUG
    catalog_class = CatalogItem.CatalogClass.A
    unit = "box"


def active_card(person) -> SocialSecurityCard:
    """Issue a card at the county centre and activate it, through the real services."""
    card = card_apply(
        person=person,
        site=SocialSecurityCard.Site.COUNTY_CENTER,
        insured_resident_id=person.resident_id,
        by=None,
    )
    return card_activate(card=card, pin=TEST_PIN, by=None)


def issued_card(person) -> SocialSecurityCard:
    return card_apply(
        person=person,
        site=SocialSecurityCard.Site.COUNTY_CENTER,
        insured_resident_id=person.resident_id,
        by=None,
    )


def fund_personal_account(person, amount: str | Decimal) -> Account:
    """Put money on a personal account as an adjustment from the city's contribution source (a
    shortcut for months of contributions and crediting)."""
    account = Account.objects.get(person=person, kind=Account.Kind.PERSONAL)
    source = Account.objects.get(city_id=person.city_id, kind=Account.Kind.CONTRIBUTION_SOURCE)
    amount = Decimal(amount)
    transfer_post(
        kind=Transfer.Kind.ADJUSTMENT,
        key=f"test-funding:{account.pk}:{Transfer.objects.count()}",
        memo="Test funding",
        legs=[Leg(account.pk, amount), Leg(source.pk, -amount)],
    )
    account.refresh_from_db()
    return account


def filing_for(person, city, *, days: int = 30, **kwargs) -> CrossCityFiling:
    from users.tests.factories import SuperuserFactory

    today = clock.today()
    return CrossCityFiling.objects.create(
        person=person,
        city=city,
        category=kwargs.pop("category", CrossCityFiling.Category.TEMPORARY),
        valid_from=kwargs.pop("valid_from", today),
        valid_until=kwargs.pop("valid_until", today + timedelta(days=days)),
        recorded_at=clock.now(),
        created_by=kwargs.pop("created_by", None) or SuperuserFactory(),
        **kwargs,
    )


def activated_evoucher(person):
    """Activate the person's e-voucher online (agreement, then face authentication)."""
    from datetime import date

    from cards.models import EVoucher, EVoucherAgreement
    from cards.services import (
        evoucher_accept_agreement,
        evoucher_agreement_current,
        evoucher_face_authenticate,
    )

    agreement = evoucher_agreement_current() or EVoucherAgreement.objects.create(
        version="test-1", title="Test agreement", text="...", effective_from=date(2020, 1, 1)
    )
    evoucher_accept_agreement(
        person=person,
        platform=EVoucher.Platform.WECHAT,
        agreement_version=agreement.version,
        by=None,
    )
    evoucher_face_authenticate(person=person, outcome=None, by=None)
    return EVoucher.objects.get(person=person)
