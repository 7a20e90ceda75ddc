from django.urls import path

from cards import apis

urlpatterns = [
    path("cards", apis.CardListApi.as_view(), name="card-list"),
    path("cards/<int:card_id>", apis.CardDetailApi.as_view(), name="card-detail"),
]
