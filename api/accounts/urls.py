from django.urls import path

from api.accounts import apis

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
    path("contributions", apis.ContributionRecordApi.as_view(), name="contribution-record"),
    path("crediting-runs", apis.CreditingRunCollectionApi.as_view(), name="crediting-run-list"),
    path(
        "crediting-runs/<int:job_id>",
        apis.CreditingRunDetailApi.as_view(),
        name="crediting-run-detail",
    ),
    path(
        "contribution-collections",
        apis.ContributionCollectionCollectionApi.as_view(),
        name="contribution-collection-list",
    ),
    path(
        "contribution-collections/<int:job_id>",
        apis.ContributionCollectionDetailApi.as_view(),
        name="contribution-collection-detail",
    ),
]
