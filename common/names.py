"""Names kept in English and in Chinese: a person is shown the one of the language they read."""

from django.utils.translation import get_language


def name_in_language(name: str, name_zh: str) -> str:
    """``name_zh`` when the active language is Chinese and it is recorded, else ``name``."""
    language = get_language() or ""
    return name_zh if name_zh and language.lower().startswith("zh") else name
