"""TRUNCATE cannot empty the ledger either.

The immutability triggers of migration 0005 are row and statement triggers on UPDATE and DELETE;
PostgreSQL does not fire those for TRUNCATE, so ``TRUNCATE accounts_entry`` (or a TRUNCATE ...
CASCADE of any table that references a transfer) would have wiped the books. A BEFORE TRUNCATE
trigger on each append-only ledger table (entries, transfers, contributions, creditings) now
refuses it; PostgreSQL fires it for every table a CASCADE reaches as well.

One deliberate way past: a transaction that has run ``SET LOCAL yibao.allow_truncate = 'on'``.
The test suite's flush between transactional tests says it (see conftest.py); nothing in the
application does. It is a guard against accidents and stray scripts, like the other triggers,
not against someone who sets out to destroy the ledger with a database login.
"""

from django.db import migrations

LEDGER_TABLES = ("entry", "transfer", "contribution", "crediting")

FORWARD = r"""
CREATE FUNCTION ledger_truncate_refused() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('yibao.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'ledger: % cannot be truncated; its rows are kept for good', TG_TABLE_NAME
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_immutable';
END
$$;
""" + "".join(
    f"""
CREATE TRIGGER ledger_{table}_truncate_refused BEFORE TRUNCATE ON accounts_{table}
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_truncate_refused();
"""
    for table in LEDGER_TABLES
)

BACKWARD = (
    "".join(
        f"DROP TRIGGER IF EXISTS ledger_{table}_truncate_refused ON accounts_{table};\n"
        for table in LEDGER_TABLES
    )
    + "DROP FUNCTION IF EXISTS ledger_truncate_refused();\n"
)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_ledger_transfers_closed")]

    operations = [migrations.RunSQL([FORWARD], [BACKWARD], elidable=False)]
