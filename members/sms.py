"""SMS channel: a pluggable backend chosen by SMS_BACKEND.

- FileBackend (default, `make run` and tests): one line per message appended to
  SMS_FILE_PATH, so a person or a test can read what would have been sent;
- AliyunBackend (production): Alibaba Cloud SMS through its official SDK
  (alibabacloud-dysmsapi20170525). Chinese carriers only deliver approved templates, so
  each kind of message has a template code (ALIYUN_SMS_TEMPLATE_ALERT / _VERIFY) and its
  parameters; ALIYUN_SMS_SIGN_NAME is the approved signature.
"""

import json
import logging
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    pass


class FileBackend:
    def send(self, *, phone: str, kind: str, params: dict, text: str) -> None:
        path = Path(settings.SMS_FILE_PATH)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(
            {"at": timezone.now().isoformat(), "phone": phone, "kind": kind, "text": text},
            ensure_ascii=False,
        )
        with path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


class AliyunBackend:
    def __init__(self):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as open_api_models

        config = open_api_models.Config(
            access_key_id=settings.ALIYUN_ACCESS_KEY_ID,
            access_key_secret=settings.ALIYUN_ACCESS_KEY_SECRET,
            endpoint=settings.ALIYUN_SMS_ENDPOINT,
        )
        self.client = Client(config)

    def send(self, *, phone: str, kind: str, params: dict, text: str) -> None:
        from alibabacloud_dysmsapi20170525 import models

        template = settings.ALIYUN_SMS_TEMPLATES.get(kind)
        if not template:
            raise SmsError(f"no Aliyun SMS template configured for {kind!r}")
        request = models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=settings.ALIYUN_SMS_SIGN_NAME,
            template_code=template,
            template_param=json.dumps(params, ensure_ascii=False),
        )
        response = self.client.send_sms(request)
        if response.body.code != "OK":
            raise SmsError(f"{response.body.code}: {response.body.message}")


def backend():
    return import_string(settings.SMS_BACKEND)()


def send(*, phone: str, kind: str, params: dict, text: str) -> None:
    backend().send(phone=phone, kind=kind, params=params, text=text)
