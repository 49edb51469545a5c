from __future__ import annotations

from rest_framework import serializers

from .models import User


class RegisterIn(serializers.Serializer[None]):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)


class LoginIn(serializers.Serializer[None]):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RefreshIn(serializers.Serializer[None]):
    refresh_token = serializers.CharField(max_length=4096)


class TokensOut(serializers.Serializer[None]):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()


class ProfileOut(serializers.ModelSerializer[User]):
    class Meta:
        model = User
        fields = ["id", "email", "name", "phone", "is_staff", "date_joined"]
        read_only_fields = fields


class ProfileIn(serializers.Serializer[None]):
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    phone = serializers.RegexField(
        r"^\+?[0-9 ()-]{0,31}$", max_length=32, required=False, allow_blank=True
    )


class JwksOut(serializers.Serializer[None]):
    keys = serializers.ListField(child=serializers.DictField())
