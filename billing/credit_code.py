"""统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters from a
31-symbol alphabet (no I, O, S, V, Z), the last a check character over the first 17."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Upper case without spaces (members paste it from licences and PDFs)."""
    return "".join((code or "").split()).upper()


def validate_credit_code(code: str) -> str:
    """The normalised code; ValidationError naming what is wrong."""
    value = normalise(code)
    if len(value) != 18:
        raise ValidationError(
            _("统一社会信用代码应为 18 位,您填写的“%(code)s”为 %(n)s 位。")
            % {"code": code, "n": len(value)}
        )
    wrong = [c for c in value if c not in ALPHABET]
    if wrong:
        raise ValidationError(
            _("统一社会信用代码“%(code)s”含有不允许的字符“%(c)s”(不使用 I、O、S、V、Z)。")
            % {"code": code, "c": wrong[0]}
        )
    if check_character(value[:17]) != value[17]:
        raise ValidationError(
            _("统一社会信用代码“%(code)s”校验位不正确,请核对营业执照。") % {"code": code}
        )
    return value
