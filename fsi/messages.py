"""The ``err_msg`` of a refusal: a Chinese sentence a clerk at the counter can read.

The national platform answers failures only with ``infcode`` -1 and a sentence; this project's
stable code travels beside it in the ``extension`` object. A code without its own sentence here
(a newer one) is answered with the sentence of its kind, never with nothing.
"""

from common.errors import ErrorCodes, ErrorKind

# One sentence per stable code, by the code's name (names are unique across the project).
ERR_MSG_BY_CODE: dict[str, str] = {
    # The envelope and the interface's own transactions.
    "ENVELOPE_INVALID": "报文格式有误，请检查必填字段及字段类型。",
    "INFNO_UNKNOWN": "交易编号（infno）不存在，本平台不提供该交易。",
    "MSGID_INVALID": "报文ID（msgid）格式有误：应为机构编码+14位时间（yyyyMMddHHmmss）+顺序号。",
    "PLATFORM_BUSY": "医保平台繁忙，本次交易未办理，请稍后用同一报文重新发送。",
    "MSGID_REUSED": "该报文ID（msgid）已用于另一笔不同的交易，请使用新的报文ID。",
    "MESSAGE_CORRECTED": "该报文ID（msgid）已在到达前被冲正（2601），本次交易不予办理。",
    "FIXMEDINS_MISMATCH": "定点医药机构编号与登录凭证所属机构不一致，交易被拒绝。",
    "TERMINAL_ONLY": "仅定点医药机构的终端可以调用本接口。",
    "SIGN_IN_REQUIRED": "签到信息无效：请先签到（9001），并在每笔交易中填写签到编号（sign_no）。",
    "INPUT_INVALID": "交易输入有误，请检查必填字段及字段格式。",
    "CERT_TYPE_NOT_ACCEPTED": "该就诊凭证类型不能在机构端识别参保人，请出示医保电子凭证或社会保障卡。",
    "PERSON_MISMATCH": "所填人员信息与出示凭证的参保人不一致。",
    "ORIGINAL_NOT_CORRECTABLE": "该原交易不能通过冲正交易（2601）撤销。",
    "ORIGINAL_INFNO_MISMATCH": "原交易编号（oinfno）与原报文的交易不一致。",
    # Common.
    "VALIDATION_ERROR": "请求字段有误，请检查后重新提交。",
    "MALFORMED_REQUEST": "报文无法解析，请发送合法的JSON。",
    "NOT_AUTHENTICATED": "未提供登录凭证，请在请求头中携带机构终端的令牌。",
    "AUTHENTICATION_FAILED": "登录凭证无效、已过期或已注销，请重新登录。",
    "PERMISSION_DENIED": "无权办理该业务。",
    "NOT_FOUND": "未找到相关记录。",
    "METHOD_NOT_ALLOWED": "请求方式不正确，请使用POST。",
    "NOT_ACCEPTABLE": "无法按所要求的格式返回结果。",
    "UNSUPPORTED_MEDIA_TYPE": "请求内容类型不受支持，请发送JSON。",
    "IDEMPOTENCY_KEY_REUSED": "该幂等键已用于另一笔不同的请求。",
    "IDEMPOTENCY_KEY_INVALID": "幂等键格式有误。",
    "CONFLICT": "业务状态冲突，请刷新后重试。",
    "REQUEST_TOO_LARGE": "报文过大，超出平台接收上限。",
    "REQUEST_NESTED_TOO_DEEPLY": "报文嵌套层级过深。",
    "RATE_LIMITED": "请求过于频繁，请稍后再试。",
    "SANDBOX_DISABLED": "本服务器未开启沙箱模式。",
    "INTERNAL_ERROR": "平台内部错误，请凭请求编号联系运维人员。",
    "SERVICE_UNAVAILABLE": "服务暂时不可用，请稍后再试。",
    # Logins and access.
    "INVALID_CREDENTIALS": "用户名或密码错误。",
    "ROLE_NOT_ALLOWED": "当前账号的角色不能办理该业务。",
    "CITY_NOT_ADMINISTERED": "您不负责该统筹地区。",
    "CREDENTIAL_REQUIRED": "请出示参保人的社会保障卡或医保电子凭证。",
    "CREDENTIAL_INVALID": "所出示的社会保障卡或医保电子凭证无法使用，请核实后重试。",
    # Persons.
    "RESIDENT_ID_INVALID": "居民身份证号码不正确。",
    "ALREADY_ENROLLED": "该身份证号码的人员已参保登记。",
    "SCHEME_FIELDS_INVALID": "所填信息与所选险种不符。",
    "LOGIN_EXISTS": "该参保人已有登录账号。",
    "USERNAME_TAKEN": "该用户名已被使用。",
    "SUBSIDY_CATEGORY_NOT_QUALIFIED": "参保人不符合该资助类别的条件（年龄或险种）。",
    # Cards and e-vouchers.
    "CARD_TRANSITION_NOT_ALLOWED": "社会保障卡当前状态不能办理该业务。",
    "CARD_ALREADY_HELD": "参保人已持有未挂失的社会保障卡，请先挂失。",
    "CARD_PIN_INVALID": "密码须为6位数字，且不能过于简单。",
    "AGENT_ID_REQUIRED": "代办人须出示本人及参保人的有效身份证件。",
    "INSURED_ID_MISMATCH": "所出示的证件与参保人不符。",
    "EVOUCHER_TRANSITION_NOT_ALLOWED": "医保电子凭证当前状态不能办理该业务。",
    "AGREEMENT_VERSION_NOT_CURRENT": "请同意最新版本的用户协议。",
    "FACE_AUTH_LOCKED": "人脸识别失败次数过多，请稍后再试。",
    "SANDBOX_OUTCOME_NOT_ALLOWED": "仅沙箱模式下可以指定人脸识别结果。",
    "INSTITUTION_NOT_PHARMACY": "仅定点药店的终端可以线下激活医保电子凭证。",
    "IDENTITY_NOT_VERIFIED": "身份证号码、姓名与人脸识别结果未能一致核验。",
    "CARD_PIN_REQUIRED": "使用社会保障卡个人账户支付须由持卡人输入密码。",
    "CARD_PIN_INCORRECT": "社会保障卡密码错误。",
    "CARD_PIN_LOCKED": "密码错误次数过多，社会保障卡个人账户支付已暂时锁定。",
    "FACE_AUTH_UNAVAILABLE": "人脸识别服务暂时不可用，请稍后再试。",
    "CARD_ACTIVATED_AT_COUNTER": "社会保障卡须由本人持身份证到医保经办机构窗口激活并设置密码。",
    # The ledger.
    "TRANSFER_UNBALANCED": "记账借贷不平衡。",
    "TRANSFER_INVALID_AMOUNT": "金额须为非零数值，且最多保留两位小数。",
    "TRANSFER_KEY_CONFLICT": "该记账流水号已用于另一笔不同的资金划转。",
    "INSUFFICIENT_FUNDS": "账户余额不足。",
    "ACCOUNT_NOT_FOUND": "账户不存在。",
    "CONTRIBUTION_ALREADY_RECORDED": "该期缴费已登记。",
    "CONTRIBUTION_PERIOD_INVALID": "缴费期间与参保险种不符。",
    "CONTRIBUTION_BEFORE_ENROLMENT": "缴费期间早于参保日期。",
    "CREDITING_PERIOD_NOT_DUE": "该月个人账户划入尚未到期。",
    # Settlement.
    "INSTITUTION_NOT_DESIGNATED": "本机构不是直接结算的定点医药机构。",
    "TERMINAL_REQUIRED": "仅定点医药机构的终端可以办理结算。",
    "CARD_NOT_ACTIVE": "社会保障卡尚未激活，请到经办机构激活，或出示医保电子凭证。",
    "NOT_YET_ENROLLED": "参保人的医保待遇尚未开始。",
    "VISIT_TYPE_NOT_OFFERED": "本机构不提供该类就诊。",
    "CATALOG_ITEM_UNKNOWN": "费用明细中有不在医保目录内的项目。",
    "LINE_AMOUNT_INVALID": "费用明细金额不正确。",
    "BENEFIT_RULE_MISSING": "参保地待遇政策中没有适用于本次就诊的规则，请咨询经办机构。",
    "CROSS_CITY_FILING_REQUIRED": "参保人为异地参保，且未办理本地的异地就医备案。",
    "VISIT_ALREADY_SETTLED": "该就诊已在本机构结算。",
    "SETTLEMENT_ALREADY_REVERSED": "该笔结算已撤销，不能重复撤销。",
    "REVERSAL_MOVES_OTHER_CITY_FUND": "该笔结算动用参保地基金，就医地经办机构无权撤销，请由结算的定点医药机构或参保地经办机构办理。",
    "CLEARING_PERIOD_NOT_ENDED": "该月尚未结束，不能进行异地就医清算。",
    "EMERGENCY_REIMBURSEMENT_REQUIRED": "参保地规定异地急诊抢救不直接结算，请全额付费后向参保地医保经办机构申请报销。",
    # Visits registered before settling (2201 to 2208, 2301 to 2305, 2401 to 2405).
    "VISIT_NOT_FOUND": "本机构没有该就诊ID（mdtrt_id）的就诊记录。",
    "VISIT_CANCELLED": "该就诊登记已撤销。",
    "VISIT_SETTLED": "该就诊已结算，请先撤销结算（2208/2305）再办理。",
    "VISIT_NUMBER_IN_USE": "该门诊号/住院号已有未撤销的就诊登记。",
    "VISIT_PERSON_MISMATCH": "所出示的凭证不是该就诊参保人的凭证。",
    "VISIT_HAS_NO_FEE_LINES": "该就诊没有可结算的费用明细，请先上传费用明细。",
    "VISIT_NOT_DISCHARGED": "住院结算须在出院办理（2402）之后进行。",
    "VISIT_ALREADY_DISCHARGED": "该参保人已办理出院。",
    "VISIT_NOT_INPATIENT": "仅住院就诊可以办理出院。",
    "VISIT_TOTAL_MISMATCH": "医疗费总额与已上传的费用明细合计不一致。",
    "FEE_LINE_DUPLICATE": "该费用明细流水号已上传，请先撤销后再上传。",
    "FEE_LINE_NOT_FOUND": "没有该流水号或收费批次号的有效费用明细。",
    "FEE_LINE_AMOUNT_MISMATCH": "费用明细总额与数量乘以单价不一致。",
    "SETTLEMENT_NOT_OF_VISIT": "该就诊没有此结算ID的结算记录。",
    "FAMILY_AUTHORIZATION_MISSING": "该账户持有人未授权此参保人使用其个人账户（家庭共济）。",
    "FAMILY_AID_NEEDS_PERSONAL_ACCOUNT": "使用家庭成员账户支付须选择使用个人账户。",
    "FAMILY_HOLDER_NOT_ELIGIBLE": "仅有个人账户的职工参保人可以开通家庭共济。",
    "FAMILY_BENEFICIARY_UNKNOWN": "没有与该身份证号码和姓名一致的参保人。",
    "FAMILY_BENEFICIARY_IS_HOLDER": "账户持有人不能授权给本人。",
    "FAMILY_AID_OTHER_CITY": "家庭共济仅限同一统筹地区参保的家庭成员。",
    "FAMILY_AUTHORIZATION_EXISTS": "该家庭成员已获授权。",
    "FAMILY_AUTHORIZATION_REVOKED": "该授权已撤销。",
    "FILING_CITY_INVALID": "异地就医备案的就医地不能是参保地。",
    "FILING_VALIDITY_INVALID": "备案有效期不正确。",
    "FILING_OVERLAPS": "该就医地已有覆盖部分期间的备案。",
    "FILING_ALREADY_REVOKED": "该备案已撤销。",
    "BENEFIT_POLICY_MISSING": "参保地尚未设置待遇政策，请咨询经办机构。",
}

# Not met through this interface, but every code has its sentence.
ERR_MSG_BY_CODE |= {
    "CREDIT_CODE_INVALID": "统一社会信用代码不正确。",
    "CREDIT_CODE_TAKEN": "该统一社会信用代码的单位已登记。",
    "EMPLOYEE_NOT_ELIGIBLE": "仅在本统筹地区参保的在职职工可以成为该单位的职工。",
    "NO_ARREARS": "该单位没有欠缴月份。",
    "PAYMENT_MODE_INVALID": "缴费方式与缴费基数比例不符。",
    "NO_PUBLIC_CHANNEL": "该统筹地区没有向国家平台上传数据的公共通道。",
    "SCENARIO_NOT_FOUND": "没有该沙箱场景。",
    "CLOCK_CANNOT_GO_BACK": "模拟时钟只能向前调整。",
    "CLOCK_STEP_TOO_LARGE": "模拟时钟每次最多前进400天。",
}

# For a code without its own sentence: the sentence of what went wrong.
ERR_MSG_BY_KIND: dict[ErrorKind, str] = {
    ErrorKind.INVALID: "请求内容有误，请检查后重新提交。",
    ErrorKind.NOT_AUTHENTICATED: "登录凭证无效，请重新登录。",
    ErrorKind.FORBIDDEN: "无权办理该业务。",
    ErrorKind.NOT_FOUND: "未找到相关记录。",
    ErrorKind.CONFLICT: "业务状态冲突，请核实后再办理。",
    ErrorKind.UNPROCESSABLE: "当前情况不能办理该业务。",
    ErrorKind.TOO_LARGE: "报文过大，超出平台接收上限。",
    ErrorKind.RATE_LIMITED: "业务繁忙，请稍后再试。",
    ErrorKind.UNAVAILABLE: "业务繁忙，请稍后再试。",
    ErrorKind.INTERNAL: "平台内部错误，请凭请求编号联系运维人员。",
    ErrorKind.METHOD_NOT_ALLOWED: "请求方式不正确，请使用POST。",
    ErrorKind.NOT_ACCEPTABLE: "无法按所要求的格式返回结果。",
    ErrorKind.UNSUPPORTED_MEDIA_TYPE: "请求内容类型不受支持，请发送JSON。",
}


def err_msg(code: ErrorCodes) -> str:
    return ERR_MSG_BY_CODE.get(code.code) or ERR_MSG_BY_KIND[code.kind]
