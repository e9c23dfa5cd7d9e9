from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions

from api.tokens import api_token_user


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` (or `Token <key>`) with a key from 会员中心 → 数据接口."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in ("bearer", "token"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Authorization 头格式应为:Bearer <密钥>"))
        user = api_token_user(header[1])
        if user is None:
            raise exceptions.AuthenticationFailed(_("密钥无效或已撤销。"))
        return user, None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
