"""Simplified Chinese shows dates and times as English does here (see ../en/formats.py): local,
ISO-like, with the zone's abbreviation after a time."""

from config.formats.en.formats import *  # noqa: F403
