from django.urls import path

from api.uploads import apis

urlpatterns = [
    path("uploads", apis.UploadCollectionApi.as_view(), name="upload-list"),
    path("uploads/<int:upload_id>", apis.UploadDetailApi.as_view(), name="upload-detail"),
]
