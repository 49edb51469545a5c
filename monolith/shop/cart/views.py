from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.common.auth import principal

from . import selectors, services
from .serializers import CartItemIn, CartOut, CartQuantityIn


class CartRootView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(responses={200: CartOut}, operation_id="cart_retrieve")
    def get(self, request: Request) -> Response:
        return Response(CartOut(selectors.cart_get(user_id=principal(request).id)).data)

    @extend_schema(responses={204: None}, operation_id="cart_clear")
    def delete(self, request: Request) -> Response:
        services.cart_clear(user_id=principal(request).id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CartItemsView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(request=CartItemIn, responses={201: CartOut}, operation_id="cart_items_add")
    def post(self, request: Request) -> Response:
        data = CartItemIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.cart_add_item(user_id=principal(request).id, **data.validated_data)
        return Response(CartOut(cart).data, status=status.HTTP_201_CREATED)


class CartItemView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(
        request=CartQuantityIn, responses={200: CartOut}, operation_id="cart_items_update"
    )
    def patch(self, request: Request, sku: str) -> Response:
        data = CartQuantityIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.cart_set_quantity(
            user_id=principal(request).id, sku=sku, quantity=data.validated_data["quantity"]
        )
        return Response(CartOut(cart).data)

    @extend_schema(responses={200: CartOut}, operation_id="cart_items_remove")
    def delete(self, request: Request, sku: str) -> Response:
        cart = services.cart_remove_item(user_id=principal(request).id, sku=sku)
        return Response(CartOut(cart).data)
