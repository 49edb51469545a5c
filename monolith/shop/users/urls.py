from django.urls import path

from . import views

urlpatterns = [
    path("register", views.RegisterView.as_view(), name="users-register"),
    path("login", views.LoginView.as_view(), name="users-login"),
    path("token/refresh", views.RefreshView.as_view(), name="users-token-refresh"),
    path("logout", views.LogoutView.as_view(), name="users-logout"),
    path("me", views.MeView.as_view(), name="users-me"),
    path("jwks.json", views.JwksView.as_view(), name="users-jwks"),
]
