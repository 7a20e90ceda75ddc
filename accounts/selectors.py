"""Reads of accounts: ledger history and payment records. (The balance inquiry is the inquiry
package's.)"""

from django.db.models import QuerySet

from accounts.models import Account, Contribution, Entry


def account_entries(*, account: Account) -> QuerySet[Entry]:
    return Entry.objects.filter(account=account).select_related("transfer").order_by("-id")


def person_contributions(*, person_id: int) -> QuerySet[Contribution]:
    return Contribution.objects.filter(person_id=person_id).order_by("-period")
