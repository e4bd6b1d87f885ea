"""The login doors' inputs, capped before any library sees them: a username longer than an account's
(150) or a password longer than LOGIN_PASSWORD_MAX is a failed login at once, never handed to
authenticate() (django-axes writes the username to a 255-character column: PostgreSQL refused it, a 500)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer

USERNAME_MAX = 150  # django.contrib.auth's User.username


def password_max() -> int:
    return getattr(settings, "LOGIN_PASSWORD_MAX", 1024)


def too_long(username: str | None, password: str | None) -> bool:
    return len(username or "") > USERNAME_MAX or len(password or "") > password_max()


class LoginForm(AuthenticationForm):
    """The login page's form."""

    def clean(self):
        if too_long(self.data.get("username"), self.data.get("password")):
            raise self.get_invalid_login_error()
        return super().clean()


class AdminLoginForm(AdminAuthenticationForm):
    """The admin login's form."""

    def clean(self):
        if too_long(self.data.get("username"), self.data.get("password")):
            raise self.get_invalid_login_error()
        return super().clean()


class TokenIn(AuthTokenSerializer):
    """POST /api/auth/token/: DRF's serializer with the lengths capped (400 `invalid` beyond them)."""

    username = serializers.CharField(label="Username", write_only=True, max_length=USERNAME_MAX)
    password = serializers.CharField(label="Password", style={"input_type": "password"}, trim_whitespace=False,
                                     write_only=True, max_length=1024)
