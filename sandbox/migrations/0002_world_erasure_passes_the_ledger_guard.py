"""A sandbox world being deleted takes its ledger with it.

The ledger's rows (entries, transfers, contributions, creditings) are immutable: migration
accounts 0005 refuses every UPDATE and DELETE of them. A developer's sandbox world is erased whole,
its books included, so a DELETE is let through in a transaction that has said
``SET LOCAL yibao.erasing_sandbox_world = 'on'``, which only the world's deletion
(``sandbox.worlds.world_delete``) says, after checking that no transfer of the world touches an
account outside it. UPDATE stays refused, always. And a transfer deleted with its entries no longer
needs entries: the deferred check that every transfer has some looks only at transfers that still
exist (a world created and erased in one transaction, as in the tests, passes it).
"""

from django.db import migrations

TRANSFER_HAS_ENTRIES = r"""
CREATE OR REPLACE FUNCTION ledger_transfer_has_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF {existing} NOT EXISTS (SELECT 1 FROM accounts_entry WHERE transfer_id = NEW.id) THEN
        RAISE EXCEPTION 'ledger: transfer % has no entries', NEW.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_transfer_has_entries';
    END IF;
    RETURN NULL;
END
$$;
"""

FORWARD = TRANSFER_HAS_ENTRIES.format(
    existing="EXISTS (SELECT 1 FROM accounts_transfer WHERE id = NEW.id) AND"
) + r"""
CREATE OR REPLACE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('yibao.erasing_sandbox_world', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'ledger: rows of % are immutable; post a correcting transfer instead', TG_TABLE_NAME
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_immutable';
END
$$;
"""

BACKWARD = TRANSFER_HAS_ENTRIES.format(existing="") + r"""
CREATE OR REPLACE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: rows of % are immutable; post a correcting transfer instead', TG_TABLE_NAME
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_immutable';
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("sandbox", "0001_sandbox_world"), ("accounts", "0005_ledger_rules")]

    operations = [migrations.RunSQL([FORWARD], [BACKWARD], elidable=False)]
