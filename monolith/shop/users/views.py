from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from shop.common.auth import principal

from . import keys, selectors, services, tokens
from .serializers import JwksOut, LoginIn, ProfileIn, ProfileOut, RefreshIn, RegisterIn, TokensOut
from .throttles import LoginAddressThrottle, LoginEmailThrottle


def _tokens(pair: services.TokenPair) -> dict[str, object]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
    }


class RegisterView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(request=RegisterIn, responses={201: ProfileOut}, operation_id="users_register")
    def post(self, request: Request) -> Response:
        data = RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        return Response(ProfileOut(user).data, status=status.HTTP_201_CREATED)


class LoginView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (LoginEmailThrottle, LoginAddressThrottle)

    @extend_schema(request=LoginIn, responses={200: TokensOut}, operation_id="users_login")
    def post(self, request: Request) -> Response:
        data = LoginIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_tokens(services.user_login(**data.validated_data)))


class RefreshView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        request=RefreshIn, responses={200: TokensOut}, operation_id="users_token_refresh"
    )
    def post(self, request: Request) -> Response:
        data = RefreshIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_tokens(services.tokens_refresh(**data.validated_data)))


class LogoutView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(request=RefreshIn, responses={204: None}, operation_id="users_logout")
    def post(self, request: Request) -> Response:
        data = RefreshIn(data=request.data)
        data.is_valid(raise_exception=True)
        access = tokens.verify(str(request.auth))
        services.user_logout(
            caller=principal(request),
            refresh_token=data.validated_data["refresh_token"],
            access_expires_at=access.exp,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = (IsAuthenticated,)

    @extend_schema(responses={200: ProfileOut}, operation_id="users_me_retrieve")
    def get(self, request: Request) -> Response:
        user = selectors.user_get(user_id=principal(request).id)
        if user is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        return Response(ProfileOut(user).data)

    @extend_schema(request=ProfileIn, responses={200: ProfileOut}, operation_id="users_me_update")
    def patch(self, request: Request) -> Response:
        data = ProfileIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.profile_update(user_id=principal(request).id, **data.validated_data)
        return Response(ProfileOut(user).data)


class JwksView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(responses={200: JwksOut}, operation_id="users_jwks")
    def get(self, request: Request) -> Response:
        response = Response(keys.jwks())
        response["Cache-Control"] = "public, max-age=300"
        return response


class WellKnownJwksView(JwksView):
    """The same document at the standard discovery path."""

    @extend_schema(responses={200: JwksOut}, operation_id="well_known_jwks")
    def get(self, request: Request) -> Response:
        return super().get(request)
