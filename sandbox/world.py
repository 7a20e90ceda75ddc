"""The sandbox's fixed geography: real cities' names and division codes, each given a profile of
switches that produces a state.

A profile is the sandbox's configuration, not a statement about the real city: that Nanping has no
online inquiry here, or that Shenzhen's platform is busy, is how the sandbox set them up to show
each state, whatever those cities' agencies actually offer. Scenarios place their persons here; the
demo world adds institutions, operators and a person for every scenario. Everything is created
idempotently (running it again changes nothing).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext, gettext_lazy

from cities.models import City
from cities.services import city_set_switches
from provisioning.services import city_provision


@dataclass(frozen=True)
class CityProfile:
    key: str
    code: str
    name: str
    # The real city's Chinese name, shown to people reading Chinese.
    name_zh: str
    # What the profile configures, said as the sandbox's setting, not as a fact about the city.
    blurb: str
    switches: dict[str, Any] = field(default_factory=dict)
    # The city's medical-insurance agency as the sandbox records it: a name, a service hall and
    # the city's area code with 12393 (dialled from elsewhere, it reaches that city's line). The
    # halls' addresses are placeholders, not the real agencies' addresses.
    agency_phone_area: str = ""

    @property
    def description(self) -> str:
        """How the demo presents the city: the sandbox's profile, not the real city's state."""
        return gettext("Sandbox profile '%(key)s' (not the real city's state): %(blurb)s") % {
            "key": self.key,
            "blurb": self.blurb,
        }

    @property
    def agency(self) -> dict[str, str]:
        if not self.agency_phone_area:
            return {}
        return {
            "agency_name": f"{self.name} Medical Insurance Service Centre",
            "agency_name_zh": f"{self.name_zh}医疗保障服务中心",
            "agency_address": f"Medical insurance service hall (sandbox address), {self.name}",
            "agency_address_zh": f"{self.name_zh}医疗保障服务大厅（沙箱地址）",  # noqa: RUF001
            "agency_phone": f"{self.agency_phone_area}-12393",
        }


CITY_PROFILES: dict[str, CityProfile] = {
    profile.key: profile
    for profile in [
        CityProfile(
            "standard",
            "330100",
            "Hangzhou",
            "杭州市",
            gettext_lazy(
                "Configured with everything launched, daily uploads and a roomy query platform."
            ),
            {
                "upload_frequency": City.UploadFrequency.DAILY,
                "query_capacity": 1000,
                "average_wage": Decimal("10500.00"),
                "payment_base_min": Decimal("6300.00"),
                "payment_base_max": Decimal("31500.00"),
            },
            agency_phone_area="0571",
        ),
        CityProfile(
            "not_launched",
            "350700",
            "Nanping",
            "南平市",
            gettext_lazy("Configured with online e-insurance inquiry switched off (not launched)."),
            {
                "online_inquiry_launched": False,
                "upload_frequency": City.UploadFrequency.MONTHLY,
                "upload_day": 5,
            },
            agency_phone_area="0599",
        ),
        CityProfile(
            "counter_only",
            "350500",
            "Quanzhou",
            "泉州市",
            gettext_lazy(
                "Configured to show the personal account only at institutions and counters, never online."
            ),
            {
                "personal_account_shown_online": False,
                "upload_frequency": City.UploadFrequency.WEEKLY,
                "upload_day": 1,
            },
            agency_phone_area="0595",
        ),
        CityProfile(
            "abolished",
            "350100",
            "Fuzhou",
            "福州市",
            gettext_lazy(
                "Configured with resident personal accounts abolished from 2021 in favour of outpatient pooling."
            ),
            {
                "resident_accounts_abolished_on": date(2021, 1, 1),
                "upload_frequency": City.UploadFrequency.DAILY,
            },
            agency_phone_area="0591",
        ),
        CityProfile(
            "no_channel",
            "411700",
            "Zhumadian",
            "驻马店市",
            gettext_lazy(
                "Configured without a public information channel, so it never uploads to the national platform; and with no agency contact, so remedies give the national hotline."
            ),
            {"has_public_upload_channel": False},
        ),
        CityProfile(
            "busy",
            "440300",
            "Shenzhen",
            "深圳市",
            gettext_lazy("Configured with its query platform switched to busy."),
            {"platform_busy_forced": True, "upload_frequency": City.UploadFrequency.DAILY},
            agency_phone_area="0755",
        ),
        CityProfile(
            "small_platform",
            "350200",
            "Xiamen",
            "厦门市",
            gettext_lazy(
                "Configured with a small query platform: 5 queries per 10 seconds, so a burst really makes it busy."
            ),
            {
                "query_capacity": 5,
                "query_window_seconds": 10,
                "upload_frequency": City.UploadFrequency.DAILY,
            },
            agency_phone_area="0592",
        ),
    ]
}


def sandbox_city(
    profile_key: str, *, by=None, code: str = "", name: str = "", name_zh: str = "", **fields
) -> City:
    """The profile's city, provisioned with its switches; a city provisioned before the sandbox
    recorded agency contacts (or Chinese names) gets its profile's (once: an operator's own is
    kept). A developer's world gives its own ``code``, ``name``, ``name_zh`` and clock
    (``fields``)."""
    profile = CITY_PROFILES[profile_key]
    name_zh = name_zh or (profile.name_zh if not name else "")
    city = city_provision(
        code=code or profile.code,
        name=name or profile.name,
        name_zh=name_zh,
        by=by,
        **profile.switches,
        **profile.agency,
        **fields,
    )
    if profile.agency and not (city.agency_name or city.agency_address or city.agency_phone):
        city = city_set_switches(city=city, by=by, **profile.agency)
    missing_zh = {}
    if name_zh and not city.name_zh:
        missing_zh["name_zh"] = name_zh
    # Only the profile's own agency gets its Chinese name and address (an operator's own agency
    # is another).
    for english, chinese in (
        ("agency_name", "agency_name_zh"),
        ("agency_address", "agency_address_zh"),
    ):
        if (
            profile.agency
            and not getattr(city, chinese)
            and getattr(city, english) == profile.agency[english]
        ):
            missing_zh[chinese] = profile.agency[chinese]
    if missing_zh:
        city = city_set_switches(city=city, by=by, **missing_zh)
    return city
