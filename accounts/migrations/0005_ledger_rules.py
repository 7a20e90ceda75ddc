"""The ledger's rules, enforced by the database so that no code path (raw SQL included) can break them.

- every statement that inserts entries must leave each touched transfer summing to zero;
- the cached account balance is maintained from entries by the same trigger, in account-id order
  (the order every service locks accounts in, so concurrent postings cannot deadlock), and any
  other write to a balance is refused;
- a transfer must have entries by commit time;
- transfers, entries, contributions and creditings are immutable (corrections are new transfers).
Together with the CHECK constraints on Account (a personal account never goes negative) these hold
whatever the application does.
"""

from django.db import migrations

POSTGRES_FORWARD = r"""
CREATE FUNCTION ledger_entries_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
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
       FOR UPDATE;
    UPDATE accounts_account a
       SET balance = a.balance + d.delta
      FROM (SELECT account_id, SUM(amount) AS delta FROM new_entries GROUP BY account_id) d
     WHERE a.id = d.account_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER ledger_entries_inserted
    AFTER INSERT ON accounts_entry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_inserted();

CREATE FUNCTION ledger_balance_written_directly() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: an account balance changes only through entries'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balance_from_entries';
END
$$;

-- Depth 0 is a statement from outside; the entries trigger's own update runs at depth 1.
CREATE TRIGGER ledger_balance_written_directly
    BEFORE UPDATE OF balance ON accounts_account
    FOR EACH ROW
    WHEN (pg_trigger_depth() = 0 AND OLD.balance IS DISTINCT FROM NEW.balance)
    EXECUTE FUNCTION ledger_balance_written_directly();

CREATE FUNCTION ledger_account_opens_at_zero() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.balance <> 0 THEN
        RAISE EXCEPTION 'ledger: an account opens at zero; money arrives through entries'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balance_from_entries';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER ledger_account_opens_at_zero
    BEFORE INSERT ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION ledger_account_opens_at_zero();

CREATE FUNCTION ledger_transfer_has_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM accounts_entry WHERE transfer_id = NEW.id) THEN
        RAISE EXCEPTION 'ledger: transfer % has no entries', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transfer_has_entries';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ledger_transfer_has_entries
    AFTER INSERT ON accounts_transfer
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transfer_has_entries();

CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: rows of % are immutable; post a correcting transfer instead', TG_TABLE_NAME
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_immutable';
END
$$;

CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON accounts_entry
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER ledger_transfer_immutable BEFORE UPDATE OR DELETE ON accounts_transfer
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER ledger_contribution_immutable BEFORE UPDATE OR DELETE ON accounts_contribution
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER ledger_crediting_immutable BEFORE UPDATE OR DELETE ON accounts_crediting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();
"""

POSTGRES_BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_crediting_immutable ON accounts_crediting;
DROP TRIGGER IF EXISTS ledger_contribution_immutable ON accounts_contribution;
DROP TRIGGER IF EXISTS ledger_transfer_immutable ON accounts_transfer;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON accounts_entry;
DROP FUNCTION IF EXISTS ledger_immutable();
DROP TRIGGER IF EXISTS ledger_transfer_has_entries ON accounts_transfer;
DROP FUNCTION IF EXISTS ledger_transfer_has_entries();
DROP TRIGGER IF EXISTS ledger_account_opens_at_zero ON accounts_account;
DROP FUNCTION IF EXISTS ledger_account_opens_at_zero();
DROP TRIGGER IF EXISTS ledger_balance_written_directly ON accounts_account;
DROP FUNCTION IF EXISTS ledger_balance_written_directly();
DROP TRIGGER IF EXISTS ledger_entries_inserted ON accounts_entry;
DROP FUNCTION IF EXISTS ledger_entries_inserted();
"""

class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_initial")]

    operations = [migrations.RunSQL([POSTGRES_FORWARD], [POSTGRES_BACKWARD], elidable=False)]
