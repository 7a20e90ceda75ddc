"""Room in each page of the balance tables for a new version of every row on it, and memory for
the ledger's statement trigger.

A crediting run or a settlement rewrites account balances; with full pages each new row version
goes to another page and every index of the table takes a new entry for it. With half of each page
left free, PostgreSQL writes the new version beside the old one and leaves the indexes alone (a
heap-only update; the old versions are pruned on a later visit): a chunk's balance update costs
about a third. It applies to pages written from now on; ``VACUUM FULL`` rewrites older ones.

And memory for the statement trigger that applies a statement's entries: it groups them by
account four times, and a crediting chunk's 50,000 accounts spilled each grouping to disk."""

from django.db import migrations

TABLES = ("accounts_account", "accounts_accountstripe")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0016_field_names_in_chinese")]

    operations = [
        migrations.RunSQL(
            sql=[f"ALTER TABLE {table} SET (fillfactor = 50)" for table in TABLES],
            reverse_sql=[f"ALTER TABLE {table} RESET (fillfactor)" for table in TABLES],
        ),
        migrations.RunSQL(
            sql="ALTER FUNCTION ledger_entries_inserted() SET work_mem = '64MB'",
            reverse_sql="ALTER FUNCTION ledger_entries_inserted() RESET work_mem",
        ),
    ]
