from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from common.api import PRESENTED_CREDENTIAL_PARAMETER, ActorMixin
from common.money import MoneySerializerField
from persons.models import InsuredPerson
from users import access


class PersonOutputSerializer(serializers.ModelSerializer):
    city = serializers.CharField(source="city.code")
    declared_wage = MoneySerializerField(allow_null=True)

    class Meta:
        model = InsuredPerson
        fields = [
            "id",
            "resident_id",
            "name",
            "sex",
            "birth_date",
            "city",
            "scheme",
            "employment_status",
            "subsidy_category",
            "declared_wage",
            "enrolled_on",
        ]


class PersonFilter(filters.FilterSet):
    city = filters.CharFilter(field_name="city__code", help_text="6-digit division code")
    name = filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = InsuredPerson
        fields = ["city", "scheme", "employment_status", "subsidy_category", "resident_id", "name"]


class PersonListApi(ActorMixin, generics.ListAPIView):
    serializer_class = PersonOutputSerializer
    filterset_class = PersonFilter

    def get_queryset(self):
        return (
            access.persons_visible(self.actor, self.request).select_related("city").order_by("id")
        )

    @extend_schema(
        summary="Insured persons you may see",
        tags=["persons"],
        parameters=[PRESENTED_CREDENTIAL_PARAMETER],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class PersonDetailApi(ActorMixin, generics.RetrieveAPIView):
    serializer_class = PersonOutputSerializer
    lookup_url_kwarg = "person_id"

    def get_queryset(self):
        return access.persons_visible(self.actor, self.request).select_related("city")

    @extend_schema(
        summary="One insured person", tags=["persons"], parameters=[PRESENTED_CREDENTIAL_PARAMETER]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
