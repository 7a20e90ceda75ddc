"""Striped accounts: no single balance row serialises the postings of a city.

Every settlement of a city credited the institution's account and debited the city's pool, so every
settlement of a city queued on those two rows until it committed. An account many postings touch
(a city's pools, clearing and source accounts, an institution's account) now has stripes: more
balance rows (accounts_accountstripe), created with it by the database. The ledger's trigger adds an
account's movement in a statement to its own row, as before, or, for a striped account, to one of
its stripes no other transaction holds (SKIP LOCKED: it waits for none unless every stripe is
held). The balance is the sum of the account's row and its stripes, the sum of its entries.

The rules stay the database's:
- a transfer's entries sum to zero, a posted transfer takes no more entries (as in 0008);
- every balance row changes only through entries; a stripe opens at zero and is not deleted while
  it holds money; an account's stripes are fixed when it opens; a personal account is never striped;
- an account that may not go negative (personal, personal-account clearing, institution) or may
  not go positive (the contribution source): a personal account keeps its CHECK on its one row; a
  striped one's movement that way (paying out, taking in) goes to its own row, held, and its whole
  balance (row and stripes, every stripe's movement being the other way) is checked there, so such
  movements take turns while the others do not.

``SET yibao.ledger_striping = 'off'`` in a session posts everything on the accounts' own rows, as
before (what settings.LEDGER_STRIPING = False does for the application's connections).
"""

from importlib import import_module

from django.db import migrations, models

NEVER_NEGATIVE = "('PERSONAL', 'PA_CLEARING', 'INSTITUTION')"
STRIPES = 16

DELTAS = "(SELECT account_id, SUM(amount) AS delta FROM new_entries GROUP BY account_id)"

FORWARD = rf"""
-- A movement of an account the way its rule forbids going past zero.
CREATE FUNCTION ledger_move_guarded(kind text, delta numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (kind IN {NEVER_NEGATIVE} AND delta < 0) OR (kind = 'SOURCE' AND delta > 0)
$$;

CREATE FUNCTION ledger_balance_allowed(kind text, balance numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT NOT ((kind IN {NEVER_NEGATIVE} AND balance < 0) OR (kind = 'SOURCE' AND balance > 0))
$$;

CREATE OR REPLACE FUNCTION ledger_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    offending bigint;
    rule text;
    moved record;
    picked bigint;
    striping boolean := COALESCE(current_setting('yibao.ledger_striping', true), '') <> 'off';
BEGIN
    -- Every entry's account exists now (the foreign key is checked only at commit, and a striped
    -- account is not read before its posting).
    SELECT e.account_id INTO offending
      FROM new_entries e LEFT JOIN accounts_account a ON a.id = e.account_id
     WHERE a.id IS NULL
     LIMIT 1;
    IF offending IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: account % does not exist', offending
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'ledger_account_exists';
    END IF;

    -- Per transfer touched: its entries must all be new in this statement, and sum to zero.
    SELECT fresh.transfer_id INTO offending
      FROM (SELECT transfer_id, COUNT(*) AS n FROM new_entries GROUP BY transfer_id) fresh
      JOIN LATERAL (
            SELECT COUNT(*) AS n FROM accounts_entry e WHERE e.transfer_id = fresh.transfer_id
           ) stored ON stored.n <> fresh.n
     LIMIT 1;
    IF offending IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: transfer % is already posted; post a new transfer instead', offending
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_immutable';
    END IF;

    SELECT e.transfer_id INTO offending
      FROM accounts_entry e
     WHERE e.transfer_id IN (SELECT DISTINCT transfer_id FROM new_entries)
     GROUP BY e.transfer_id
    HAVING SUM(e.amount) <> 0
     LIMIT 1;
    IF offending IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: the entries of transfer % do not sum to zero', offending
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transfer_balanced';
    END IF;

    -- On the accounts' own rows, locked in id order (the order every posting path locks in):
    -- unstriped accounts, and a striped account's movement the way its rule forbids.
    PERFORM 1
       FROM accounts_account a JOIN {DELTAS} d ON d.account_id = a.id
      WHERE NOT striping OR a.stripes = 1 OR ledger_move_guarded(a.kind, d.delta)
      ORDER BY a.id
        FOR NO KEY UPDATE OF a;
    UPDATE accounts_account a
       SET balance = a.balance + d.delta
      FROM {DELTAS} d
     WHERE a.id = d.account_id
       AND (NOT striping OR a.stripes = 1 OR ledger_move_guarded(a.kind, d.delta));

    -- Such a striped account's whole balance, its own row held: every concurrent movement of it
    -- that is not waiting for that row goes the allowed way.
    SELECT a.id, CASE a.kind WHEN 'SOURCE' THEN 'source_account_only_gives'
                             ELSE 'account_balance_not_negative' END
      INTO offending, rule
      FROM accounts_account a JOIN {DELTAS} d ON d.account_id = a.id
     WHERE a.stripes > 1 AND ledger_move_guarded(a.kind, d.delta)
       AND NOT ledger_balance_allowed(a.kind, a.balance + COALESCE(
             (SELECT SUM(s.balance) FROM accounts_accountstripe s WHERE s.account_id = a.id), 0))
     LIMIT 1;
    IF offending IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: account % would go past zero the way its kind forbids', offending
            USING ERRCODE = 'check_violation', CONSTRAINT = rule;
    END IF;

    -- Every other movement of a striped account: on the stripe this connection starts from, or
    -- the next one no other transaction holds; if every stripe is held, on the account's own row.
    IF striping THEN
        FOR moved IN
            SELECT a.id, a.stripes, d.delta
              FROM accounts_account a JOIN {DELTAS} d ON d.account_id = a.id
             WHERE a.stripes > 1 AND d.delta <> 0 AND NOT ledger_move_guarded(a.kind, d.delta)
             ORDER BY a.id
        LOOP
            SELECT s.id INTO picked
              FROM accounts_accountstripe s
             WHERE s.account_id = moved.id
             ORDER BY (s.stripe + pg_backend_pid()) % moved.stripes
             LIMIT 1
               FOR NO KEY UPDATE SKIP LOCKED;
            IF picked IS NULL THEN
                UPDATE accounts_account SET balance = balance + moved.delta WHERE id = moved.id;
            ELSE
                UPDATE accounts_accountstripe SET balance = balance + moved.delta WHERE id = picked;
            END IF;
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;

-- A striped account's stripes open with it, at zero.
CREATE FUNCTION ledger_account_stripes_open() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO accounts_accountstripe (account_id, stripe, balance)
    SELECT NEW.id, n, 0 FROM generate_series(1, NEW.stripes - 1) n;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_account_stripes_open
    AFTER INSERT ON accounts_account
    FOR EACH ROW WHEN (NEW.stripes > 1)
    EXECUTE FUNCTION ledger_account_stripes_open();

CREATE FUNCTION ledger_account_stripes_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: an account''s stripes are fixed when it opens'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balance_from_entries';
END
$$;

CREATE TRIGGER ledger_account_stripes_fixed
    BEFORE UPDATE OF stripes ON accounts_account
    FOR EACH ROW WHEN (OLD.stripes IS DISTINCT FROM NEW.stripes)
    EXECUTE FUNCTION ledger_account_stripes_fixed();

-- A stripe's balance changes only through entries (the entries trigger writes at depth 1).
CREATE TRIGGER ledger_stripe_written_directly
    BEFORE UPDATE ON accounts_accountstripe
    FOR EACH ROW WHEN (pg_trigger_depth() = 0)
    EXECUTE FUNCTION ledger_balance_written_directly();

CREATE FUNCTION ledger_stripe_opens_at_zero() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.balance <> 0 OR TG_OP = 'DELETE' AND OLD.balance <> 0 THEN
        RAISE EXCEPTION 'ledger: a stripe opens at zero and keeps what it holds'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balance_from_entries';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;

CREATE TRIGGER ledger_stripe_opens_at_zero
    BEFORE INSERT OR DELETE ON accounts_accountstripe
    FOR EACH ROW EXECUTE FUNCTION ledger_stripe_opens_at_zero();
"""

# The accounts opened before: every one but personal accounts is striped, with its stripes.
STRIPE_EXISTING = rf"""
UPDATE accounts_account SET stripes = {STRIPES} WHERE kind <> 'PERSONAL' AND stripes = 1;
INSERT INTO accounts_accountstripe (account_id, stripe, balance)
SELECT a.id, n, 0 FROM accounts_account a CROSS JOIN generate_series(1, {STRIPES} - 1) n
 WHERE a.stripes > 1
ON CONFLICT DO NOTHING;
"""

BACKWARD = """
DROP TRIGGER IF EXISTS ledger_stripe_opens_at_zero ON accounts_accountstripe;
DROP FUNCTION IF EXISTS ledger_stripe_opens_at_zero();
DROP TRIGGER IF EXISTS ledger_stripe_written_directly ON accounts_accountstripe;
DROP TRIGGER IF EXISTS ledger_account_stripes_fixed ON accounts_account;
DROP FUNCTION IF EXISTS ledger_account_stripes_fixed();
DROP TRIGGER IF EXISTS ledger_account_stripes_open ON accounts_account;
DROP FUNCTION IF EXISTS ledger_account_stripes_open();
DROP FUNCTION IF EXISTS ledger_balance_allowed(text, numeric);
DROP FUNCTION IF EXISTS ledger_move_guarded(text, numeric);
"""


def _function_before():
    return import_module("accounts.migrations.0008_ledger_transfers_closed").FUNCTION


class Migration(migrations.Migration):
    dependencies = [("accounts", "0013_cross_city_clearing_accounts")]

    operations = [
        migrations.RemoveConstraint(model_name="account", name="account_balance_not_negative"),
        migrations.RemoveConstraint(model_name="account", name="source_account_only_gives"),
        # The column keeps its name: the ledger's SQL reads and writes accounts_account.balance.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField(
                    model_name="account", old_name="balance", new_name="row_balance"
                ),
                migrations.AlterField(
                    model_name="account",
                    name="row_balance",
                    field=models.DecimalField(
                        db_column="balance",
                        decimal_places=2,
                        default=0,
                        editable=False,
                        help_text="The part of the balance held on this row, maintained by the "
                        "database from entries; a striped account holds the rest on its stripes "
                        "(see balance).",
                        max_digits=14,
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="account",
            name="stripes",
            field=models.PositiveSmallIntegerField(
                db_default=1,
                default=1,
                editable=False,
                help_text="Balance rows: 1, this row only; more, this row and stripes 1 to "
                "stripes - 1. Fixed when the account opens.",
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("kind__in", ["PERSONAL", "PA_CLEARING", "INSTITUTION"]), _negated=True
                    ),
                    ("row_balance__gte", 0),
                    ("stripes__gt", 1),
                    _connector="OR",
                ),
                name="account_balance_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "SOURCE"), _negated=True),
                    ("row_balance__lte", 0),
                    ("stripes__gt", 1),
                    _connector="OR",
                ),
                name="source_account_only_gives",
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("stripes__gte", 1),
                    ("stripes__lte", 64),
                    models.Q(
                        models.Q(("kind", "PERSONAL"), _negated=True),
                        ("stripes", 1),
                        _connector="OR",
                    ),
                ),
                name="account_stripes_valid",
            ),
        ),
        migrations.CreateModel(
            name="AccountStripe",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("stripe", models.PositiveSmallIntegerField()),
                (
                    "balance",
                    models.DecimalField(decimal_places=2, default=0, editable=False, max_digits=14),
                ),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE,
                        related_name="stripe_rows",
                        to="accounts.account",
                    ),
                ),
            ],
            options={
                "ordering": ["account", "stripe"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "stripe"), name="one_row_per_account_stripe"
                    )
                ],
            },
        ),
        migrations.RunSQL([STRIPE_EXISTING, FORWARD], [BACKWARD], elidable=False),
        # Backwards: the entries trigger as 0008 left it (the stripes' balances are not folded back).
        migrations.RunSQL(
            [],
            [_function_before()],
            elidable=False,
        ),
    ]
