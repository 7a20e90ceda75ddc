"""A starter medical-insurance catalog (drugs and services of each class), so a fresh
installation can settle at once. Operators extend it in the console."""

from django.db import migrations

STARTER_CATALOG = [
    # code, name, kind, class, unit
    ("XJ01CAA040A001", "Amoxicillin capsules 0.25 g", "DRUG", "A", "box"),
    ("XN02BEA071A001", "Paracetamol tablets 0.5 g", "DRUG", "A", "box"),
    ("XC09AAE056A001", "Enalapril maleate tablets 10 mg", "DRUG", "A", "box"),
    ("XA10BAM007A001", "Metformin hydrochloride tablets 0.5 g", "DRUG", "A", "box"),
    ("XC10AAA013B001", "Atorvastatin calcium tablets 20 mg", "DRUG", "B", "box"),
    ("XJ01DDC035B001", "Ceftriaxone sodium for injection 1 g", "DRUG", "B", "vial"),
    ("XL01XEI014B001", "Imatinib mesylate tablets 100 mg", "DRUG", "B", "box"),
    ("XA11CCV004C001", "Vitamin D3 soft capsules (supplement)", "DRUG", "C", "box"),
    ("XD11AXS001C001", "Cosmetic skin-care cream", "DRUG", "C", "tube"),
    ("S110200001", "General outpatient consultation", "SERVICE", "A", "visit"),
    ("S110900001", "Inpatient bed, standard ward", "SERVICE", "A", "day"),
    ("S250101001", "Complete blood count", "SERVICE", "A", "test"),
    ("S210300001", "CT scan, single region", "SERVICE", "B", "scan"),
    ("S210500001", "MRI scan, single region", "SERVICE", "B", "scan"),
    ("S331600001", "Appendectomy", "SERVICE", "A", "operation"),
    ("S110900002", "Inpatient bed, private room surcharge", "SERVICE", "C", "day"),
    ("S999900001", "Medical cosmetic procedure", "SERVICE", "C", "session"),
]


def forwards(apps, schema_editor):
    CatalogItem = apps.get_model("settlement", "CatalogItem")
    for code, name, kind, catalog_class, unit in STARTER_CATALOG:
        CatalogItem.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "catalog_class": catalog_class, "unit": unit},
        )


class Migration(migrations.Migration):
    dependencies = [("settlement", "0004_settlement_rules")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
