"""9001 sign-in and 9002 sign-out of a terminal's operator."""

from fsi import services
from fsi.inputs import InputReader
from fsi.registry import Call, transaction


@transaction(
    "9001",
    name_zh="签到",
    name_en="Sign in",
    input_fields=("signIn.opter_no", "signIn.mac", "signIn.ip"),
    output_fields=("signinoutb.sign_time", "signinoutb.sign_no"),
)
def sign_in(call: Call) -> dict:
    reader = InputReader(call, "signIn")
    opter_no = reader.text("opter_no", required=True, longest=30)
    mac = reader.text("mac", longest=20)
    ip = reader.text("ip", longest=45)
    reader.done()
    opter_name = call.envelope.get("opter_name")
    opter_type = call.envelope.get("opter_type")
    sign_in = services.sign_in_open(
        institution=call.institution,
        user=call.user,
        opter_no=opter_no,
        opter_name=opter_name if isinstance(opter_name, str) else "",
        opter_type=opter_type if isinstance(opter_type, str) else "",
        mac=mac,
        ip=ip,
        msgid=call.msgid,
        request_id=call.request_id,
        now=call.now,
    )
    return {"signinoutb": {"sign_time": sign_in.signed_in_at, "sign_no": sign_in.sign_no}}


@transaction(
    "9002",
    name_zh="签退",
    name_en="Sign out",
    input_fields=("signOut.sign_no", "signOut.opter_no"),
    output_fields=("signoutoutb.sign_time",),
)
def sign_out(call: Call) -> dict:
    reader = InputReader(call, "signOut")
    sign_no = reader.text("sign_no", longest=30) or call.sign_no
    reader.text("opter_no", longest=30)
    reader.done()
    sign_in = services.sign_in_close(
        institution=call.institution, sign_no=sign_no, msgid=call.msgid, now=call.now
    )
    return {"signoutoutb": {"sign_time": sign_in.signed_out_at}}
