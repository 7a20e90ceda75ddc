"""How the admin and templates show dates and times: the same local, ISO-like form as the API's
texts ("2026-11-03 00:00"), rather than English's "Nov. 3, 2026, midnight" beside it."""

DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
MONTH_DAY_FORMAT = "m-d"
YEAR_MONTH_FORMAT = "Y-m"
