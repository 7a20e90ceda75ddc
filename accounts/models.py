"""The double-entry ledger, contributions and monthly crediting.

Money moves only as a Transfer whose Entries sum to zero. The database enforces the rules
(see migrations 0005 and 0014): entries balance per transfer, the cached balances are maintained
from entries by a trigger and cannot be written otherwise, entries and transfers are immutable, and
a personal account never goes negative.

An account many postings touch at once (a city's pools, clearing and source accounts, an
institution's account) is striped: its balance is held on its own row and on its stripes
(AccountStripe), and a posting adds to whichever stripe no other transaction holds, so concurrent
settlements of one city and one hospital do not queue on one row. Its balance is the sum, exact
whenever read (``Account.balance``).
"""

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from common.models import RecordedJob
from common.money import MoneyField

# How many balance rows a striped account has: its own and 15 stripes. More concurrent writers of
# one account than stripes wait for one another, as before striping.
STRIPES = 16


class AccountQuerySet(models.QuerySet):
    def with_balance_total(self) -> "AccountQuerySet":
        """Each account's whole balance as ``balance_total``, in the same query: its own row's plus
        its stripes' (for a list, where ``Account.balance`` would ask once per striped account)."""
        stripes = (
            AccountStripe.objects.filter(account=OuterRef("pk"))
            .order_by()
            .values("account")
            .annotate(total=Sum("balance"))
            .values("total")
        )
        return self.annotate(
            balance_total=models.F("row_balance")
            + Coalesce(Subquery(stripes), Value(0), output_field=MoneyField())
        )


class Account(models.Model):
    class Kind(models.TextChoices):
        PERSONAL = "PERSONAL", _("Personal account")
        EMPLOYEE_POOL = "EMPLOYEE_POOL", _("Employee pooled fund")
        RESIDENT_POOL = "RESIDENT_POOL", _("Resident pooled fund")
        OUTPATIENT_POOL = "OUTPATIENT_POOL", _("Resident outpatient pooling")
        PERSONAL_ACCOUNT_CLEARING = (
            "PA_CLEARING",
            _("Personal-account clearing (awaiting crediting)"),
        )
        CONTRIBUTION_SOURCE = (
            "SOURCE",
            _("Contributions received (employers, individuals, government)"),
        )
        INSTITUTION = "INSTITUTION", _("Owed to a designated institution")
        BANK_PAYOUT = "BANK_PAYOUT", _("Reimbursements paid to bank accounts (bank clearing)")
        CLEARING_PAYABLE = (
            "XC_PAYABLE",
            _("Cross-city clearing payable (owed to other cities for care there)"),
        )
        CLEARING_RECEIVABLE = (
            "XC_RECEIVABLE",
            _(
                "Cross-city clearing receivable (paid to institutions for persons insured elsewhere)"
            ),
        )
        INTERCITY_SETTLEMENT = (
            "XC_SETTLED",
            _("Cross-city settlement account (clearing paid to and received from other cities)"),
        )

    CITY_KINDS = (
        Kind.EMPLOYEE_POOL,
        Kind.RESIDENT_POOL,
        Kind.OUTPATIENT_POOL,
        Kind.PERSONAL_ACCOUNT_CLEARING,
        Kind.CONTRIBUTION_SOURCE,
        Kind.BANK_PAYOUT,
        Kind.CLEARING_PAYABLE,
        Kind.CLEARING_RECEIVABLE,
        Kind.INTERCITY_SETTLEMENT,
    )
    # The city's accounts that make up its fund (a negative one is a deficit, reported).
    POOL_KINDS = (Kind.EMPLOYEE_POOL, Kind.RESIDENT_POOL, Kind.OUTPATIENT_POOL)
    NEVER_NEGATIVE_KINDS = (Kind.PERSONAL, Kind.PERSONAL_ACCOUNT_CLEARING, Kind.INSTITUTION)

    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    city = models.ForeignKey(
        "cities.City", on_delete=models.PROTECT, related_name="accounts", verbose_name=_("city")
    )
    person = models.OneToOneField(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="personal_account",
        verbose_name=_("person"),
    )
    institution = models.OneToOneField(
        "institutions.Institution",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="account",
        verbose_name=_("institution"),
    )
    row_balance = MoneyField(
        default=0,
        editable=False,
        db_column="balance",
        help_text=_(
            "The part of the balance held on this row, maintained by the database from entries; a striped account holds the rest on its stripes (see balance)."
        ),
        verbose_name=_("row balance"),
    )
    stripes = models.PositiveSmallIntegerField(
        default=1,
        db_default=1,  # rows inserted by SQL (sandbox.population) are personal accounts
        editable=False,
        help_text=_(
            "Balance rows: 1, this row only; more, this row and stripes 1 to stripes - 1. Fixed when the account opens."
        ),
        verbose_name=_("stripes"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = AccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    (
                        models.Q(kind="PERSONAL")
                        & models.Q(person__isnull=False, institution__isnull=True)
                    )
                    | (
                        models.Q(kind="INSTITUTION")
                        & models.Q(person__isnull=True, institution__isnull=False)
                    )
                    | (
                        ~models.Q(kind__in=["PERSONAL", "INSTITUTION"])
                        & models.Q(person__isnull=True, institution__isnull=True)
                    )
                ),
                name="account_owner_matches_kind",
            ),
            # A striped account's rule holds for its whole balance, checked by the ledger's
            # trigger (migration 0014); its own row alone may be on either side of zero.
            models.CheckConstraint(
                condition=~models.Q(kind__in=["PERSONAL", "PA_CLEARING", "INSTITUTION"])
                | models.Q(row_balance__gte=0)
                | models.Q(stripes__gt=1),
                name="account_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="SOURCE")
                | models.Q(row_balance__lte=0)
                | models.Q(stripes__gt=1),
                name="source_account_only_gives",
            ),
            models.CheckConstraint(
                condition=models.Q(stripes__gte=1, stripes__lte=64)
                & (~models.Q(kind="PERSONAL") | models.Q(stripes=1)),
                name="account_stripes_valid",
            ),
            models.UniqueConstraint(
                fields=["city", "kind"],
                condition=models.Q(
                    kind__in=[
                        "EMPLOYEE_POOL",
                        "RESIDENT_POOL",
                        "OUTPATIENT_POOL",
                        "PA_CLEARING",
                        "SOURCE",
                        "BANK_PAYOUT",
                        "XC_PAYABLE",
                        "XC_RECEIVABLE",
                        "XC_SETTLED",
                    ]
                ),
                name="one_city_account_per_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = (
            gettext("person %(id)s") % {"id": self.person_id}
            if self.person_id
            else (
                gettext("institution %(id)s") % {"id": self.institution_id}
                if self.institution_id
                else gettext("city %(id)s") % {"id": self.city_id}
            )
        )
        return f"{self.get_kind_display()} #{self.pk} ({owner})"

    @property
    def balance(self):
        """The account's balance: its own row's, plus its stripes' when it is striped (read from
        the database each time, so it is exact when read)."""
        if self.stripes == 1:
            return self.row_balance
        return account_balance(account_id=self.pk)


def account_balance(*, account_id: int):
    """An account's whole balance, its row's and its stripes' read in one statement."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.balance + COALESCE((SELECT SUM(s.balance) FROM accounts_accountstripe s"
            " WHERE s.account_id = a.id), 0) FROM accounts_account a WHERE a.id = %s",
            [account_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


class AccountStripe(models.Model):
    """One more balance row of a striped account. Postings add to a stripe no other transaction
    holds; the account's balance is its own row's plus its stripes'. Created with the account and
    written only by the ledger's trigger."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="stripe_rows", verbose_name=_("account")
    )
    stripe = models.PositiveSmallIntegerField(verbose_name=_("stripe"))
    balance = MoneyField(default=0, editable=False, verbose_name=_("balance"))

    class Meta:
        ordering = ["account", "stripe"]
        constraints = [
            models.UniqueConstraint(fields=["account", "stripe"], name="one_row_per_account_stripe")
        ]

    def __str__(self) -> str:
        return f"Stripe {self.stripe} of account {self.account_id}: {self.balance}"


class Transfer(models.Model):
    """A balanced movement of money. Immutable: a mistake is corrected by a new transfer."""

    class Kind(models.TextChoices):
        OPENING = "OPENING", _("Opening balance")
        CONTRIBUTION = "CONTRIBUTION", _("Contribution received")
        CREDITING = "CREDITING", _("Monthly crediting")
        SETTLEMENT = "SETTLEMENT", _("Settlement")
        REVERSAL = "REVERSAL", _("Settlement reversal")
        ADJUSTMENT = "ADJUSTMENT", _("Adjustment")
        CLAIM_PAYOUT = "CLAIM_PAYOUT", _("Reimbursement claim payout")
        CLEARING = "CLEARING", _("Cross-city clearing")

    kind = models.CharField(max_length=12, choices=Kind.choices, verbose_name=_("kind"))
    key = models.CharField(
        max_length=128,
        unique=True,
        help_text=_("Idempotency key: the same movement is never posted twice."),
        verbose_name=_("key"),
    )
    memo = models.CharField(
        max_length=255, help_text=_("Why the money moved."), verbose_name=_("memo")
    )
    posted_at = models.DateTimeField(
        help_text=_("Business time (the simulated clock in sandbox mode)."),
        verbose_name=_("posted at"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    request_id = models.CharField(max_length=64, blank=True, verbose_name=_("request id"))

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}: {self.memo}"


class Entry(models.Model):
    """One leg of a transfer: a signed amount on one account (credit > 0, debit < 0)."""

    transfer = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, related_name="entries", verbose_name=_("transfer")
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="entries", verbose_name=_("account")
    )
    amount = MoneyField(verbose_name=_("amount"))

    class Meta:
        verbose_name = _("entry")
        verbose_name_plural = _("entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "-id"], name="entry_account_newest")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(amount=0), name="entry_amount_not_zero")
        ]

    def __str__(self) -> str:
        return gettext("%(amount)s on account %(account)s") % {
            "amount": f"{self.amount:+}",
            "account": self.account_id,
        }


class Contribution(models.Model):
    """A payment record (Social Insurance Law art. 4): monthly for employees, yearly for residents."""

    class Kind(models.TextChoices):
        EMPLOYEE_MONTHLY = "EMPLOYEE_MONTHLY", _("Employee, monthly")
        RESIDENT_YEARLY = "RESIDENT_YEARLY", _("Resident, yearly")

    person = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        related_name="contributions",
        verbose_name=_("person"),
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, verbose_name=_("kind"))
    period = models.DateField(
        help_text=_("First day of the month (employees) or of the year (residents)."),
        verbose_name=_("period"),
    )
    payment_base = MoneyField(
        null=True,
        blank=True,
        help_text=_("Employees: the base after clamping."),
        verbose_name=_("payment base"),
    )
    employer_amount = MoneyField(default=0, verbose_name=_("employer amount"))
    individual_amount = MoneyField(default=0, verbose_name=_("individual amount"))
    subsidy_amount = MoneyField(
        default=0,
        help_text=_("Residents: the government subsidy."),
        verbose_name=_("subsidy amount"),
    )
    account_share = MoneyField(
        default=0,
        help_text=_("The part due to the personal account at crediting."),
        verbose_name=_("account share"),
    )
    base_due = MoneyField(
        null=True,
        blank=True,
        help_text=_(
            "Employees: the base due, the declared wage clamped to the city's bounds. A payment base below it is an underpayment."
        ),
        verbose_name=_("base due"),
    )
    employer = models.ForeignKey(
        "employers.Employer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contributions",
        help_text=_("Employees: the employer whose payment this is."),
        verbose_name=_("employer"),
    )
    received_at = models.DateTimeField(verbose_name=_("received at"))
    transfer = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, related_name="contributions", verbose_name=_("transfer")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        verbose_name = _("contribution")
        verbose_name_plural = _("contributions")
        ordering = ["-period"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "period"], name="one_contribution_per_person_period"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    employer_amount__gte=0,
                    individual_amount__gte=0,
                    subsidy_amount__gte=0,
                    account_share__gte=0,
                ),
                name="contribution_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(account_share__lte=models.F("individual_amount")),
                name="contribution_account_share_within_individual",
            ),
        ]
        indexes = [
            models.Index(
                fields=["person", "period"],
                condition=models.Q(account_share__gt=0),
                name="contribution_creditable",
            )
        ]

    def __str__(self) -> str:
        return gettext("%(kind)s %(period)s of person %(person)s") % {
            "kind": self.get_kind_display(),
            "period": f"{self.period:%Y-%m}",
            "person": self.person_id,
        }

    @property
    def total(self):
        return self.employer_amount + self.individual_amount + self.subsidy_amount

    @property
    def underpaid(self) -> bool:
        return (
            self.base_due is not None
            and self.payment_base is not None
            and self.payment_base < self.base_due
        )


class ContributionArrear(models.Model):
    """An employee's month the employer did not pay at the collection: what was due, and, once the
    employer pays its arrears, the contribution that paid it. Moves no money itself; the month's
    personal-account share is credited only after it is paid."""

    person = models.ForeignKey(
        "persons.InsuredPerson",
        on_delete=models.PROTECT,
        related_name="contribution_arrears",
        verbose_name=_("person"),
    )
    period = models.DateField(
        help_text=_("First day of the unpaid month."), verbose_name=_("period")
    )
    employer = models.ForeignKey(
        "employers.Employer",
        on_delete=models.PROTECT,
        related_name="arrears",
        verbose_name=_("employer"),
    )
    base_due = MoneyField(
        help_text=_("The declared wage clamped to the city's bounds."), verbose_name=_("base due")
    )
    employer_amount = MoneyField(verbose_name=_("employer amount"))
    individual_amount = MoneyField(verbose_name=_("individual amount"))
    account_share = MoneyField(
        help_text=_("The part the personal account misses until it is paid."),
        verbose_name=_("account share"),
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"))
    contribution = models.OneToOneField(
        Contribution,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="arrear",
        help_text=_("The contribution that paid it, once the employer paid its arrears."),
        verbose_name=_("contribution"),
    )
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))

    class Meta:
        verbose_name = _("contribution arrear")
        verbose_name_plural = _("contribution arrears")
        ordering = ["-period", "person"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "period"], name="one_contribution_arrear_per_person_period"
            ),
            models.CheckConstraint(
                condition=models.Q(contribution__isnull=True, paid_at__isnull=True)
                | models.Q(contribution__isnull=False, paid_at__isnull=False),
                name="contribution_arrear_paid_with_its_contribution",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    base_due__gt=0,
                    employer_amount__gte=0,
                    individual_amount__gte=0,
                    account_share__gte=0,
                ),
                name="contribution_arrear_amounts_not_negative",
            ),
        ]
        indexes = [
            models.Index(
                fields=["person", "period"],
                condition=models.Q(contribution__isnull=True),
                name="contribution_arrear_unpaid",
            ),
            models.Index(
                fields=["employer", "period"],
                condition=models.Q(contribution__isnull=True),
                name="contribution_arrear_employer",
            ),
        ]

    def __str__(self) -> str:
        text = (
            gettext("%(period)s of person %(person)s, paid")
            if self.contribution_id
            else gettext("%(period)s of person %(person)s, unpaid")
        )
        return text % {"period": f"{self.period:%Y-%m}", "person": self.person_id}

    @property
    def amount_due(self):
        return self.employer_amount + self.individual_amount


class CreditingRun(RecordedJob):
    """The monthly crediting of a city's personal accounts; re-running it posts nothing twice.
    Its items are the city's personal accounts."""

    city = models.ForeignKey(
        "cities.City",
        on_delete=models.PROTECT,
        related_name="crediting_runs",
        verbose_name=_("city"),
    )
    period = models.DateField(
        help_text=_("First day of the month being credited."), verbose_name=_("period")
    )
    credited_count = models.PositiveIntegerField(default=0, verbose_name=_("credited count"))
    credited_amount = MoneyField(default=0, verbose_name=_("credited amount"))

    class Meta:
        verbose_name = _("crediting run")
        verbose_name_plural = _("crediting runs")
        ordering = ["-period", "city"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "period"], name="one_crediting_run_per_city_month"
            )
        ]

    def __str__(self) -> str:
        return gettext("Crediting %(period)s, %(city)s") % {
            "period": f"{self.period:%Y-%m}",
            "city": self.city,
        }


class ContributionCollection(RecordedJob):
    """A month's collection of employers' contributions for a city's active employees (on their
    declared wages). Its items are the city's insured persons."""

    city = models.ForeignKey(
        "cities.City",
        on_delete=models.PROTECT,
        related_name="contribution_collections",
        verbose_name=_("city"),
    )
    period = models.DateField(
        help_text=_("First day of the month collected."), verbose_name=_("period")
    )
    collected_count = models.PositiveIntegerField(default=0, verbose_name=_("collected count"))
    collected_amount = MoneyField(default=0, verbose_name=_("collected amount"))
    unpaid_count = models.PositiveIntegerField(
        default=0,
        help_text=_("Employees whose employer did not pay the month (recorded as arrears)."),
        verbose_name=_("unpaid count"),
    )

    class Meta:
        verbose_name = _("contribution collection")
        verbose_name_plural = _("contribution collections")
        ordering = ["-period", "city"]
        constraints = [
            models.UniqueConstraint(
                fields=["city", "period"], name="one_contribution_collection_per_city_month"
            )
        ]

    def __str__(self) -> str:
        return gettext("Contributions %(period)s, %(city)s") % {
            "period": f"{self.period:%Y-%m}",
            "city": self.city,
        }


class Crediting(models.Model):
    """One month's credit to one personal account: posted at most once, by the unique constraint."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="creditings", verbose_name=_("account")
    )
    period = models.DateField(
        help_text=_("The month this credit is for."), verbose_name=_("period")
    )
    amount = MoneyField(verbose_name=_("amount"))
    source = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name=_("source")
    )
    run = models.ForeignKey(
        CreditingRun, on_delete=models.PROTECT, related_name="creditings", verbose_name=_("run")
    )
    transfer = models.ForeignKey(
        Transfer, on_delete=models.PROTECT, related_name="creditings", verbose_name=_("transfer")
    )

    class Meta:
        verbose_name = _("crediting")
        verbose_name_plural = _("creditings")
        ordering = ["-period"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period"], name="one_crediting_per_account_month"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="crediting_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(amount)s to account %(account)s for %(period)s") % {
            "amount": self.amount,
            "account": self.account_id,
            "period": f"{self.period:%Y-%m}",
        }
