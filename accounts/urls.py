from django.urls import path

from accounts import apis

urlpatterns = [
    path("me/balance", apis.MyBalanceApi.as_view(), name="me-balance"),
    path("balance-reasons", apis.ReasonCatalogueApi.as_view(), name="balance-reasons"),
    path("accounts", apis.AccountListApi.as_view(), name="account-list"),
    path("accounts/<int:account_id>", apis.AccountDetailApi.as_view(), name="account-detail"),
    path(
        "accounts/<int:account_id>/entries",
        apis.AccountEntriesApi.as_view(),
        name="account-entries",
    ),
]
