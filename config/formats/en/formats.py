"""How the admin and templates show dates and times: the same local, ISO-like form as the API's
texts ("2026-11-03 00:00"), with the zone's abbreviation after a time ("2026-11-03 00:00 CST"),
rather than English's "Nov. 3, 2026, midnight" beside it."""

DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
MONTH_DAY_FORMAT = "m-d"
YEAR_MONTH_FORMAT = "Y-m"
