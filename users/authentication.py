from django.utils import timezone
from knox.auth import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    """Knox tokens (stored hashed, with an expiry, revocable), checked in one query.

    Knox's own check also sweeps the user's other expired tokens on every request; that sweep runs
    as a periodic task instead, so authentication stays a single indexed lookup.
    """

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False
