from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiExample, extend_schema
from knox.models import AuthToken
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import DomainError
from users.error_codes import UserErrorCode
from users.throttles import LoginAddressThrottle, client_address, login_failures_limited


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.CharField()
    is_superuser = serializers.BooleanField()
    person_id = serializers.IntegerField(allow_null=True)
    institution_id = serializers.IntegerField(allow_null=True)
    city_codes = serializers.ListField(child=serializers.CharField())


def user_output(user) -> dict:
    person = getattr(user, "person", None)
    return {
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "is_superuser": user.is_superuser,
        "person_id": person.id if person else None,
        "institution_id": user.institution_id,
        "city_codes": [city.code for city in user.cities.all()]
        if user.role == user.Role.OPERATOR
        else [],
    }


class LoginApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginAddressThrottle]

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=128, style={"input_type": "password"})

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        authorization = serializers.CharField(
            help_text="The exact Authorization header value to send."
        )
        expiry = serializers.DateTimeField(allow_null=True)
        user = UserOutputSerializer()

    @extend_schema(
        summary="Log in: exchange a username and password for an API token",
        description="Answers a token and the exact `Authorization` header value to send with "
        "every other request, its expiry (10 hours by default) and who you are. Anyone may call "
        "it. A wrong username or password answers 400 `INVALID_CREDENTIALS` (the same answer for "
        "both); attempts are rate limited (429 `RATE_LIMITED` with `Retry-After`).",
        tags=["auth"],
        auth=[],
        request=InputSerializer,
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "An operator",
                value={"username": "op-hangzhou", "password": "correct-horse-42"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        with login_failures_limited(username=username, address=client_address(request)):
            user = authenticate(
                request, username=username, password=data.validated_data["password"]
            )
            if user is None or not user.is_active:
                raise DomainError(UserErrorCode.INVALID_CREDENTIALS)
        instance, token = AuthToken.objects.create(user)
        return Response(
            self.OutputSerializer(
                {
                    "token": token,
                    "authorization": f"Token {token}",
                    "expiry": instance.expiry,
                    "user": user_output(user),
                }
            ).data
        )


class LogoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Log out: revoke the token used for this request",
        description="Revokes the token this request was made with, at once; other tokens of the "
        "same user stay valid. Answers 204 with no body. Any authenticated caller.",
        tags=["auth"],
        request=None,
        responses={204: None},
    )
    def post(self, request):
        if isinstance(request.auth, AuthToken):
            request.auth.delete()
        return Response(status=204)


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Who am I: the caller's role and scope",
        description="The authenticated caller's username and role (`INSURED`, `INSTITUTION` or "
        "`OPERATOR`), whether a superuser, and their scope: the insured person, the institution, "
        "or the city codes an operator administers.",
        tags=["auth"],
        responses=UserOutputSerializer,
    )
    def get(self, request):
        return Response(user_output(request.user))
