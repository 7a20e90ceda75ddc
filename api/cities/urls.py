from django.urls import path

from api.cities import apis

urlpatterns = [
    path("cities", apis.CityListApi.as_view(), name="city-list"),
    path("cities/<str:city_code>", apis.CityDetailApi.as_view(), name="city-detail"),
    path("cities/<str:city_code>/fund", apis.CityFundApi.as_view(), name="city-fund"),
]
