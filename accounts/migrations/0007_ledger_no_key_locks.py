"""The ledger trigger locks accounts FOR NO KEY UPDATE (as an UPDATE of the balance does): it still
serialises writers of one account, but no longer blocks other transactions' foreign-key checks
against that account, which could otherwise deadlock at commit."""

from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION ledger_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced bigint;
BEGIN
    SELECT e.transfer_id INTO unbalanced
      FROM accounts_entry e
     WHERE e.transfer_id IN (SELECT DISTINCT transfer_id FROM new_entries)
     GROUP BY e.transfer_id
    HAVING SUM(e.amount) <> 0
     LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger: the entries of transfer % do not sum to zero', unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transfer_balanced';
    END IF;

    PERFORM 1 FROM accounts_account
     WHERE id IN (SELECT DISTINCT account_id FROM new_entries)
     ORDER BY id
       FOR {lock};
    UPDATE accounts_account a
       SET balance = a.balance + d.delta
      FROM (SELECT account_id, SUM(amount) AS delta FROM new_entries GROUP BY account_id) d
     WHERE a.id = d.account_id;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_recorded_jobs_and_collection")]

    operations = [
        migrations.RunSQL(
            [FUNCTION.replace("{lock}", "NO KEY UPDATE")],
            [FUNCTION.replace("{lock}", "UPDATE")],
            elidable=False,
        )
    ]
