"""The sandbox's fixed geography: real cities, each with the switches that produce a state.

Scenarios place their persons here; the demo world adds institutions, operators and a person
for every scenario. Everything is created idempotently (running it again changes nothing).
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from cities.models import City
from provisioning.services import city_provision


@dataclass(frozen=True)
class CityProfile:
    key: str
    code: str
    name: str
    blurb: str
    switches: dict[str, Any] = field(default_factory=dict)


CITY_PROFILES: dict[str, CityProfile] = {
    profile.key: profile
    for profile in [
        CityProfile(
            "standard",
            "330100",
            "Hangzhou",
            "Everything launched; daily uploads; a roomy query platform.",
            {
                "upload_frequency": City.UploadFrequency.DAILY,
                "query_capacity": 1000,
                "average_wage": Decimal("10500.00"),
                "payment_base_min": Decimal("6300.00"),
                "payment_base_max": Decimal("31500.00"),
            },
        ),
        CityProfile(
            "not_launched",
            "350700",
            "Nanping",
            "Online e-insurance inquiry not launched yet.",
            {
                "online_inquiry_launched": False,
                "upload_frequency": City.UploadFrequency.MONTHLY,
                "upload_day": 5,
            },
        ),
        CityProfile(
            "counter_only",
            "350500",
            "Quanzhou",
            "Shows the personal account only at institutions and counters, never online.",
            {
                "personal_account_shown_online": False,
                "upload_frequency": City.UploadFrequency.WEEKLY,
                "upload_day": 1,
            },
        ),
        CityProfile(
            "abolished",
            "350100",
            "Fuzhou",
            "Resident personal accounts abolished in 2021 in favour of outpatient pooling.",
            {
                "resident_accounts_abolished_on": date(2021, 1, 1),
                "upload_frequency": City.UploadFrequency.DAILY,
            },
        ),
        CityProfile(
            "no_channel",
            "411700",
            "Zhumadian",
            "No public information channel: never uploads to the national platform.",
            {"has_public_upload_channel": False},
        ),
        CityProfile(
            "busy",
            "440300",
            "Shenzhen",
            "Its operators have switched the query platform to busy.",
            {"platform_busy_forced": True, "upload_frequency": City.UploadFrequency.DAILY},
        ),
        CityProfile(
            "small_platform",
            "350200",
            "Xiamen",
            "A small query platform: 5 queries per 10 seconds, so a burst really makes it busy.",
            {
                "query_capacity": 5,
                "query_window_seconds": 10,
                "upload_frequency": City.UploadFrequency.DAILY,
            },
        ),
    ]
}


def sandbox_city(profile_key: str, *, by=None) -> City:
    profile = CITY_PROFILES[profile_key]
    return city_provision(code=profile.code, name=profile.name, by=by, **profile.switches)
