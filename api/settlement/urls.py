from django.urls import path

from api.settlement import apis, clearing

urlpatterns = [
    path("institutions", apis.InstitutionListApi.as_view(), name="institution-list"),
    path(
        "institutions/<int:institution_id>",
        apis.InstitutionDetailApi.as_view(),
        name="institution-detail",
    ),
    path("catalog", apis.CatalogListApi.as_view(), name="catalog-list"),
    path("catalog/<str:code>", apis.CatalogDetailApi.as_view(), name="catalog-detail"),
    path(
        "benefit-policies/<str:city_code>",
        apis.BenefitPolicyApi.as_view(),
        name="benefit-policy",
    ),
    path("settlements", apis.SettlementCollectionApi.as_view(), name="settlement-list"),
    path("settlements/quote", apis.SettlementQuoteApi.as_view(), name="settlement-quote"),
    path(
        "settlements/<int:settlement_id>",
        apis.SettlementDetailApi.as_view(),
        name="settlement-detail",
    ),
    path(
        "settlements/<int:settlement_id>/reversal",
        apis.SettlementReverseApi.as_view(),
        name="settlement-reversal",
    ),
    path("filings", apis.FilingCollectionApi.as_view(), name="filing-list"),
    path("filings/<int:filing_id>", apis.FilingDetailApi.as_view(), name="filing-detail"),
    path(
        "filings/<int:filing_id>/revocation",
        apis.FilingRevokeApi.as_view(),
        name="filing-revocation",
    ),
    path(
        "family-authorizations",
        apis.FamilyAuthorizationCollectionApi.as_view(),
        name="family-authorization-list",
    ),
    path(
        "family-authorizations/<int:authorization_id>",
        apis.FamilyAuthorizationDetailApi.as_view(),
        name="family-authorization-detail",
    ),
    path(
        "family-authorizations/<int:authorization_id>/revocation",
        apis.FamilyAuthorizationRevokeApi.as_view(),
        name="family-authorization-revocation",
    ),
    path(
        "clearing-statements",
        clearing.ClearingStatementListApi.as_view(),
        name="clearing-statement-list",
    ),
    path(
        "clearing-statements/<int:statement_id>",
        clearing.ClearingStatementDetailApi.as_view(),
        name="clearing-statement-detail",
    ),
    path("clearing-runs", clearing.ClearingRunCollectionApi.as_view(), name="clearing-run-list"),
    path(
        "clearing-runs/<int:job_id>",
        clearing.ClearingRunDetailApi.as_view(),
        name="clearing-run-detail",
    ),
]
