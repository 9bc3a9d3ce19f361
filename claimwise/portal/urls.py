from django.urls import path

from claimwise.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("sign-up/", views.sign_up, name="sign_up"),
    path("sign-up/code/", views.sign_up_code, name="sign_up_code"),
    path("reset/", views.reset, name="reset"),
    path("reset/code/", views.reset_code, name="reset_code"),
    path("claims/", views.claims, name="claims"),
    path("claims/<int:claim_id>/", views.claim, name="claim"),
    path("claims/<int:claim_id>/reported/", views.reported, name="reported"),
    path("claims/<int:claim_id>/documents/", views.claim_upload, name="claim_upload"),
    path("claims/<int:claim_id>/messages/", views.claim_message, name="claim_message"),
    path("claims/<int:claim_id>/withdraw/", views.claim_withdraw_view, name="claim_withdraw"),
    path("policies/<str:policy_number>/report/", views.report, name="report"),
    path("account/notifications/", views.preferences, name="preferences"),
    path("account/contact/<slug:kind>/", views.contact_change, name="contact_change"),
    path("account/contact/<slug:kind>/code/", views.contact_code, name="contact_code"),
    path("guides/", views.guides, name="guides"),
    path("guides/<slug:line>/", views.guide, name="guide"),
]
