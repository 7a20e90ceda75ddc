from django.urls import path

from api.claims import apis

urlpatterns = [
    path(
        "reimbursement-claims",
        apis.ClaimCollectionApi.as_view(),
        name="reimbursement-claim-list",
    ),
    path(
        "reimbursement-claims/<int:claim_id>",
        apis.ClaimDetailApi.as_view(),
        name="reimbursement-claim-detail",
    ),
    path(
        "reimbursement-claims/<int:claim_id>/review",
        apis.ClaimReviewApi.as_view(),
        name="reimbursement-claim-review",
    ),
    path(
        "reimbursement-claims/<int:claim_id>/withdrawal",
        apis.ClaimWithdrawApi.as_view(),
        name="reimbursement-claim-withdrawal",
    ),
]
