"""A sandbox world being deleted takes its striped accounts' stripes with it.

Migration accounts 0014 refuses to delete a stripe that holds money (a stripe keeps what it
holds). The world's erasure (``sandbox.worlds.world_delete``, see migration 0002) deletes its
accounts' stripes together with the entries that filled them, so that DELETE is let through in a
transaction that has said ``SET LOCAL yibao.erasing_sandbox_world = 'on'``; everywhere else the
rule stands.
"""

from django.db import migrations

STRIPE_GUARD = r"""
CREATE OR REPLACE FUNCTION ledger_stripe_opens_at_zero() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {erasing}
    IF TG_OP = 'INSERT' AND NEW.balance <> 0 OR TG_OP = 'DELETE' AND OLD.balance <> 0 THEN
        RAISE EXCEPTION 'ledger: a stripe opens at zero and keeps what it holds'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_balance_from_entries';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END
$$;
"""

ERASING = """IF TG_OP = 'DELETE' AND current_setting('yibao.erasing_sandbox_world', true) = 'on' THEN
        RETURN OLD;
    END IF;"""


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0002_world_erasure_passes_the_ledger_guard"),
        ("accounts", "0014_striped_accounts"),
    ]

    operations = [
        migrations.RunSQL(
            [STRIPE_GUARD.replace("{erasing}", ERASING)],
            [STRIPE_GUARD.replace("{erasing}", "")],
            elidable=False,
        )
    ]
