from django.urls import path

from api.cards import apis

urlpatterns = [
    path("cards", apis.CardCollectionApi.as_view(), name="card-list"),
    path("cards/<int:card_id>", apis.CardDetailApi.as_view(), name="card-detail"),
    path("cards/<int:card_id>/collect", apis.CardCollectApi.as_view(), name="card-collect"),
    path("cards/<int:card_id>/activate", apis.CardActivateApi.as_view(), name="card-activate"),
    path(
        "cards/<int:card_id>/report-lost", apis.CardReportLostApi.as_view(), name="card-report-lost"
    ),
    path("cards/<int:card_id>/replace", apis.CardReplaceApi.as_view(), name="card-replace"),
    path(
        "evoucher-agreements/current",
        apis.CurrentAgreementApi.as_view(),
        name="evoucher-agreement-current",
    ),
    path("me/evoucher", apis.MyEVoucherApi.as_view(), name="me-evoucher"),
    path(
        "me/evoucher/qr-codes",
        apis.MyEVoucherPresentationCodeApi.as_view(),
        name="me-evoucher-qr-codes",
    ),
    path(
        "me/evoucher/agreement", apis.MyEVoucherAgreementApi.as_view(), name="me-evoucher-agreement"
    ),
    path(
        "me/evoucher/face-authentications",
        apis.MyFaceAuthenticationApi.as_view(),
        name="me-face-auth",
    ),
    path(
        "evouchers/pharmacy-activations",
        apis.PharmacyActivationApi.as_view(),
        name="pharmacy-activation",
    ),
]
