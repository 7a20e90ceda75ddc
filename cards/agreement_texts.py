"""The initial e-voucher user agreement's title and text, word for word as the migration that
creates it stores them (cards/migrations/0004_initial_agreement.py), marked for translation: an
agreement stored with exactly these words is shown in the language the caller asks for, and one an
operator writes otherwise is shown as written."""

from django.utils.translation import gettext, gettext_noop

INITIAL_AGREEMENT_TITLE = gettext_noop("E-voucher user agreement")
INITIAL_AGREEMENT_TEXT = gettext_noop(
    """Electronic medical-insurance voucher user agreement

1. The voucher identifies you at designated hospitals and pharmacies and lets you query your
   medical-insurance information online.
2. Activation needs face authentication against your resident ID photo.
3. Keep your phone and its codes safe; report a lost phone to the platform at once.
4. Your data is used only for medical-insurance services, as the law provides.
"""
)
TRANSLATED_TEXTS = frozenset({INITIAL_AGREEMENT_TITLE, INITIAL_AGREEMENT_TEXT})


def in_current_language(stored: str) -> str:
    """The stored title or text, translated when it is the initial agreement's own."""
    return gettext(stored) if stored in TRANSLATED_TEXTS else stored
