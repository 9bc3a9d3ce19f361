from django.urls import path

from claimwise.workbench import views

app_name = "workbench"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("login/", views.sign_in, name="login"),
    path("login/verify/", views.verify, name="verify"),
    path("logout/", views.sign_out, name="logout"),
    path("views/", views.view_save, name="view_save"),
    path("views/<int:view_id>/delete/", views.view_delete, name="view_delete"),
    path("account/two-factor/", views.two_factor, name="two_factor"),
    path("team/", views.team_overview, name="team"),
    path("report/", views.report, name="report"),
    path("investigations/", views.investigations, name="investigations"),
    path("investigations/<int:case_id>/", views.case_page, name="case"),
    path("investigations/<int:case_id>/act/<slug:key>/", views.case_action, name="case_action"),
    path("warnings/", views.warnings, name="warnings"),
    path("alerts/read/", views.alerts_read, name="alerts_read"),
    path("customers/<int:customer_id>/", views.customer, name="customer"),
    path("claims/<int:claim_id>/", views.claim_page, name="claim"),
    path("claims/<int:claim_id>/act/<slug:key>/", views.claim_action, name="claim_action"),
]
