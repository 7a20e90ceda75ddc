from django.urls import path

from api.accounts import apis as account_apis
from api.cards import apis as card_apis
from api.persons import apis

urlpatterns = [
    path("persons", apis.PersonCollectionApi.as_view(), name="person-list"),
    path("persons/<int:person_id>/login", apis.PersonLoginCreateApi.as_view(), name="person-login"),
    path("persons/<int:person_id>", apis.PersonDetailApi.as_view(), name="person-detail"),
    path(
        "persons/<int:person_id>/balance",
        account_apis.PersonBalanceApi.as_view(),
        name="person-balance",
    ),
    path(
        "persons/<int:person_id>/contributions",
        account_apis.PersonContributionListApi.as_view(),
        name="person-contributions",
    ),
    path(
        "persons/<int:person_id>/payment-months",
        account_apis.PersonPaymentMonthListApi.as_view(),
        name="person-payment-months",
    ),
    path(
        "persons/<int:person_id>/evoucher",
        card_apis.PersonEVoucherApi.as_view(),
        name="person-evoucher",
    ),
]
