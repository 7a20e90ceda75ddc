"""A settlement is a financial record: once written, its figures never change.

- settlement lines are immutable;
- a settlement's figures, parties and policy snapshot are immutable; the ledger transfer is set
  once; the only other change is the one reversal (SETTLED -> REVERSED with its fields), after
  which nothing changes;
- settlements are never deleted (a refund is a reversal).
"""

from django.db import migrations

FROZEN_COLUMNS = [
    "institution_id",
    "person_id",
    "insured_city_id",
    "scheme",
    "visit_type",
    "visit_reference",
    "credential_kind",
    "year",
    "settled_at",
    "filing_id",
    "family_authorization_id",
    "use_personal_account",
    "pool_account_id",
    "paying_account_id",
    "class_b_self_pay_ratio",
    "annual_deductible",
    "deductible_paid_before",
    "reimbursement_ratio",
    "annual_cap",
    "pool_paid_before",
    "outpatient_quota",
    "outpatient_pool_paid_before",
    "total_amount",
    "class_c_amount",
    "class_b_self_pay_amount",
    "eligible_amount",
    "deductible_amount",
    "copay_amount",
    "over_cap_amount",
    "pool_amount",
    "personal_account_amount",
    "cash_amount",
    "personal_account_balance_after",
    "created_by_id",
    "request_id",
    "created_at",
]
REVERSAL_COLUMNS = [
    "status",
    "reversed_at",
    "reversed_by_id",
    "reversal_reason",
    "reversal_transfer_id",
    "reversal_request_id",
]


def _row(prefix: str, columns: list[str]) -> str:
    return "ROW(" + ", ".join(f"{prefix}.{column}" for column in columns) + ")"


POSTGRES_FORWARD = f"""
CREATE FUNCTION settlement_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'settlement: settlements are never deleted; reverse them instead'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_immutable';
    END IF;
    IF {_row("NEW", FROZEN_COLUMNS)} IS DISTINCT FROM {_row("OLD", FROZEN_COLUMNS)} THEN
        RAISE EXCEPTION 'settlement: the figures of settlement % are immutable', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_immutable';
    END IF;
    IF OLD.transfer_id IS NOT NULL AND NEW.transfer_id IS DISTINCT FROM OLD.transfer_id THEN
        RAISE EXCEPTION 'settlement: the transfer of settlement % is set once', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_immutable';
    END IF;
    IF OLD.status = 'REVERSED'
       AND {_row("NEW", REVERSAL_COLUMNS)} IS DISTINCT FROM {_row("OLD", REVERSAL_COLUMNS)} THEN
        RAISE EXCEPTION 'settlement: settlement % is reversed and final', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_immutable';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER settlement_guard BEFORE UPDATE OR DELETE ON settlement_settlement
    FOR EACH ROW EXECUTE FUNCTION settlement_guard();

CREATE FUNCTION settlement_line_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'settlement: settlement lines are immutable'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_immutable';
END
$$;

CREATE TRIGGER settlement_line_immutable BEFORE UPDATE OR DELETE ON settlement_settlementline
    FOR EACH STATEMENT EXECUTE FUNCTION settlement_line_immutable();
"""

POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS settlement_line_immutable ON settlement_settlementline;
DROP FUNCTION IF EXISTS settlement_line_immutable();
DROP TRIGGER IF EXISTS settlement_guard ON settlement_settlement;
DROP FUNCTION IF EXISTS settlement_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("settlement", "0003_settlement_catalog_policy_filings")]

    operations = [migrations.RunSQL([POSTGRES_FORWARD], [POSTGRES_BACKWARD], elidable=False)]
