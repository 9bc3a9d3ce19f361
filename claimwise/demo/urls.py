from django.urls import path

from claimwise.demo import views

app_name = "demo"

urlpatterns = [
    path("sms/", views.sms_gateway, name="sms_gateway"),
    path("inbox/", views.sms_inbox, name="inbox"),
]
