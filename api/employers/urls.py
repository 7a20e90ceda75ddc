from django.urls import path

from api.employers import apis

urlpatterns = [
    path("employers", apis.EmployerCollectionApi.as_view(), name="employer-list"),
    path("employers/<int:employer_id>", apis.EmployerDetailApi.as_view(), name="employer-detail"),
    path(
        "employers/<int:employer_id>/employees",
        apis.EmployerEmployeeAddApi.as_view(),
        name="employer-employees",
    ),
    path(
        "employers/<int:employer_id>/payment-mode",
        apis.EmployerPaymentModeApi.as_view(),
        name="employer-payment-mode",
    ),
    path(
        "employers/<int:employer_id>/arrears-payment",
        apis.EmployerArrearsPaymentApi.as_view(),
        name="employer-arrears-payment",
    ),
]
