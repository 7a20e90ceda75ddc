import factory
from knox.models import AuthToken

from users.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = User.Role.INSURED
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OperatorFactory(UserFactory):
    role = User.Role.OPERATOR
    is_staff = True

    @factory.post_generation
    def cities(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.cities.set(extracted)


class SuperuserFactory(UserFactory):
    role = User.Role.OPERATOR
    is_staff = True
    is_superuser = True


class TerminalFactory(UserFactory):
    role = User.Role.INSTITUTION
    institution = factory.SubFactory("settlement.tests.factories.InstitutionFactory")


def token_for(user) -> str:
    """The exact Authorization header value for this user."""
    _, token = AuthToken.objects.create(user)
    return f"Token {token}"
