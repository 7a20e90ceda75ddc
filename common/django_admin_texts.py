"""Texts Django's own admin templates show (version 5.2) that Django's simplified-Chinese catalogue
does not translate yet. Listed here only so that `make messages` carries them into this project's
catalogue, which Django reads before its own; nothing imports this module."""

from django.utils.translation import gettext_noop

# Word for word as Django writes them, typographic apostrophes included.
DJANGO_ADMIN_TEXTS = (
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("Error:"),
    gettext_noop("Forgotten your login credentials?"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),  # noqa: RUF001
    gettext_noop("In case you’ve forgotten, you are:"),  # noqa: RUF001
)
