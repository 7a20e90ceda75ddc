"""1101 person information and 5206 the person's cumulative figures for the year.

The person is the one whose e-voucher (``mdtrt_cert_type`` 01, ``mdtrt_cert_no`` its current
code) or social security card (03, its number) is presented, as in the REST API; ``psn_no``,
``certno`` and ``psn_name``, when sent, must be that person's.

Codes this project gives where the national dictionaries have more than it models:
``psn_type`` 11 working employee, 21 retired employee, 31 resident; ``psn_insu_stas`` 1 insured
(0 before the enrolment date); ``gend`` 1 male, 2 female; ``psn_cert_type`` 01 resident ID.
Fields it does not model carry a neutral value: ``naty``, ``paus_insu_date`` and ``emp_name`` "",
``cvlserv_flag`` "0". Where the institution channel hides the balance, ``balc`` is 0 and the
``extension`` says so: ``balance_visible`` false and ``balance_reasons``, the same reasons
(code, title, detail, remedy...) as the REST API's balance answer.
"""

from datetime import date

from common import clock
from common.money import ZERO
from fsi import services
from fsi.inputs import InputReader
from fsi.registry import Call, Output, transaction
from persons.models import InsuredPerson

CERT_TYPES = (services.CERT_EVOUCHER, services.CERT_RESIDENT_ID, services.CERT_CARD)
INSUTYPE_EMPLOYEE, INSUTYPE_RESIDENT = "310", "390"
_GENDER = {InsuredPerson.Sex.MALE: "1", InsuredPerson.Sex.FEMALE: "2"}


def insutype_of(person: InsuredPerson) -> str:
    return INSUTYPE_EMPLOYEE if person.is_employee else INSUTYPE_RESIDENT


def psn_type_of(person: InsuredPerson) -> str:
    if not person.is_employee:
        return "31"
    return "21" if person.is_retired else "11"


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _presented(reader: InputReader) -> dict:
    """The credential and the details every person transaction reads."""
    return {
        "cert_type": reader.text("mdtrt_cert_type", required=True, longest=3, choices=CERT_TYPES),
        "cert_no": reader.text("mdtrt_cert_no", required=True, longest=100),
        "details": services.PersonDetails(
            psn_no=reader.text("psn_no", longest=30),
            certno=reader.text("certno", longest=50),
            psn_name=reader.text("psn_name", longest=50),
            prefix=reader.prefix,
        ),
    }


@transaction(
    "1101",
    name_zh="人员信息获取",
    name_en="Person information",
    input_fields=(
        "data.mdtrt_cert_type",
        "data.mdtrt_cert_no",
        "data.card_sn",
        "data.psn_cert_type",
        "data.certno",
        "data.psn_name",
    ),
    output_fields=(
        "baseinfo.psn_no",
        "baseinfo.psn_cert_type",
        "baseinfo.certno",
        "baseinfo.psn_name",
        "baseinfo.gend",
        "baseinfo.naty",
        "baseinfo.brdy",
        "baseinfo.age",
        "insuinfo[].balc",
        "insuinfo[].insutype",
        "insuinfo[].psn_type",
        "insuinfo[].psn_insu_stas",
        "insuinfo[].psn_insu_date",
        "insuinfo[].paus_insu_date",
        "insuinfo[].cvlserv_flag",
        "insuinfo[].insuplc_admdvs",
        "insuinfo[].emp_name",
        "idetinfo[].psn_idet_type",
        "idetinfo[].psn_type_lv",
        "idetinfo[].memo",
        "idetinfo[].begntime",
        "idetinfo[].endtime",
    ),
)
def person_information(call: Call) -> dict:
    reader = InputReader(call)
    presented = _presented(reader)
    reader.text("card_sn", longest=50)
    reader.text("psn_cert_type", longest=6)
    reader.done()
    found = services.person_information(now=call.now, **presented)
    person, diagnosis = found.person, found.diagnosis
    today = clock.localdate(call.now)
    baseinfo = {
        "psn_no": services.psn_no_of(person.pk),
        "psn_cert_type": "01",
        "certno": person.resident_id,
        "psn_name": person.name,
        "gend": _GENDER.get(person.sex, "9"),
        "naty": "",
        "brdy": person.birth_date,
        "age": _age(person.birth_date, today),
    }
    insuinfo = {
        "balc": diagnosis.amount if diagnosis.visible else ZERO,
        "insutype": insutype_of(person),
        "psn_type": psn_type_of(person),
        "psn_insu_stas": "1" if person.enrolled_on <= today else "0",
        "psn_insu_date": person.enrolled_on,
        "paus_insu_date": "",
        "cvlserv_flag": "0",
        "insuplc_admdvs": person.city.code,
        "emp_name": "",
    }
    idetinfo = []
    if person.subsidy_category != InsuredPerson.SubsidyCategory.NONE:
        idetinfo.append(
            {
                "psn_idet_type": person.subsidy_category,
                "psn_type_lv": "",
                "memo": person.get_subsidy_category_display(),
                "begntime": person.enrolled_on,
                "endtime": "",
            }
        )
    extension = {
        "balance_visible": diagnosis.visible,
        "balance_reasons": diagnosis.as_json()["reasons"],
        "credential": found.credential.kind,
    }
    return Output(
        {"baseinfo": baseinfo, "insuinfo": [insuinfo], "idetinfo": idetinfo},
        extension=extension,
    )


# cum_type_code: the figures 5206 gives for the year (this project's codes).
CUM_TYPES = {
    "DEDUCTIBLE_OUTPATIENT": "门诊起付线累计",
    "DEDUCTIBLE_INPATIENT": "住院起付线累计",
    "FUND_PAID": "统筹基金支付累计",
    "FUND_PAID_OUTPATIENT": "门诊统筹基金支付累计",
    "ANNUAL_CAP_LEFT": "年度最高支付限额剩余",
    "OUTPATIENT_QUOTA_LEFT": "门诊统筹年度限额剩余",
}


@transaction(
    "5206",
    name_zh="人员累计信息查询",
    name_en="A person's cumulative figures for the year",
    input_fields=(
        "data.mdtrt_cert_type",
        "data.mdtrt_cert_no",
        "data.psn_no",
        "data.cum_ym",
    ),
    output_fields=(
        "cuminfo[].insutype",
        "cuminfo[].year",
        "cuminfo[].cum_ym",
        "cuminfo[].cum_type_code",
        "cuminfo[].cum_type_name",
        "cuminfo[].cum",
    ),
)
def year_figures(call: Call) -> dict:
    reader = InputReader(call)
    presented = _presented(reader)
    cum_ym = reader.text("cum_ym", longest=6)
    today = clock.localdate(call.now)
    year = today.year
    if cum_ym:
        if len(cum_ym) != 6 or not cum_ym.isdigit() or not 1 <= int(cum_ym[4:]) <= 12:
            reader.error("cum_ym", "A month, yyyyMM.")
        else:
            year = int(cum_ym[:4])
    reader.done()
    figures = services.year_figures(year=year, **presented)
    usage = figures.usage
    values = {
        "DEDUCTIBLE_OUTPATIENT": usage.deductible_outpatient if usage else ZERO,
        "DEDUCTIBLE_INPATIENT": usage.deductible_inpatient if usage else ZERO,
        "FUND_PAID": figures.pool_paid,
        "FUND_PAID_OUTPATIENT": figures.outpatient_pool_paid,
        "ANNUAL_CAP_LEFT": figures.annual_cap_left,
        "OUTPATIENT_QUOTA_LEFT": figures.outpatient_quota_left,
    }
    month = cum_ym or f"{today:%Y%m}"
    return {
        "cuminfo": [
            {
                "insutype": insutype_of(figures.person),
                "year": str(year),
                "cum_ym": month,
                "cum_type_code": code,
                "cum_type_name": CUM_TYPES[code],
                "cum": value,
            }
            for code, value in values.items()
            if value is not None
        ]
    }
