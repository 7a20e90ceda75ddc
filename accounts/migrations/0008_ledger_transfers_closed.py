"""A posted transfer is closed: a later statement may not add entries to it, even balanced ones
(the per-transfer check alone would let balanced legs be appended to an existing movement)."""

from importlib import import_module

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION ledger_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    offending bigint;
BEGIN
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

    PERFORM 1 FROM accounts_account
     WHERE id IN (SELECT DISTINCT account_id FROM new_entries)
     ORDER BY id
       FOR NO KEY UPDATE;
    UPDATE accounts_account a
       SET balance = a.balance + d.delta
      FROM (SELECT account_id, SUM(amount) AS delta FROM new_entries GROUP BY account_id) d
     WHERE a.id = d.account_id;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_ledger_no_key_locks")]

    # Backwards: the function as migration 0007 left it.
    operations = [
        migrations.RunSQL(
            [FUNCTION],
            [
                import_module("accounts.migrations.0007_ledger_no_key_locks").FUNCTION.replace(
                    "{lock}", "NO KEY UPDATE"
                )
            ],
            elidable=False,
        )
    ]
