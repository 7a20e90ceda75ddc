"""What an institution terminal presents for a person: their card or their e-voucher, and what
it proved. The domain (settlement, the card flows) reasons with it; the access policy builds it
from the request."""

from dataclasses import dataclass

PRESENTED_CREDENTIAL_HEADER = "X-Presented-Credential"


@dataclass(frozen=True)
class PresentedCredential:
    kind: str  # "CARD" or "EVOUCHER"
    value: str
    person_id: int
    # A card's PIN, entered by the cardholder at the terminal, was checked (cards.services
    # card_pin_verify): only then does the card pay from a personal account.
    pin_verified: bool = False
