"""Included as ``path("api/cart", ...)``: the patterns start with "/" (APPEND_SLASH is off)."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.CartRootView.as_view(), name="cart"),
    path("/items", views.CartItemsView.as_view(), name="cart-items"),
    path("/items/<str:sku>", views.CartItemView.as_view(), name="cart-item"),
]
