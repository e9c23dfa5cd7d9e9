"""The providers, played on loopback for tests: locally generated RSA keys stand for
Alipay's and WeChat Pay's, HTTP servers answer the SDKs' own requests (trade query,
refund, close, native order) signed as the providers sign, and notifications are built in
the providers' real formats. Nothing in the application is patched.

Refunds behave as the providers document: a refund number seen before is the same refund
(answered again, no money moves), the refunds of a trade cannot exceed what was paid, and
`refunds` lists the money movements. `refund_delays` holds back the answers of the next
refund calls (seconds each) after the refund is made: a client that times out has moved
money without knowing it."""

import base64
import json
import secrets
import sys
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class KeyPair:
    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def private_pem(self, pkcs1: bool = False) -> str:
        fmt = (
            serialization.PrivateFormat.TraditionalOpenSSL
            if pkcs1
            else serialization.PrivateFormat.PKCS8
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, fmt, serialization.NoEncryption()
        ).decode()

    def public_pem(self) -> str:
        return (
            self.key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def sign(self, message: str) -> str:
        signature = self.key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def verifies(self, message: str, signature: str) -> bool:
        try:
            self.key.public_key().verify(
                base64.b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (InvalidSignature, ValueError):
            return False
        return True


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that timed out left before the (delayed) answer
        super().handle_error(request, client_address)


class _Server:
    """A threading HTTP server on a free loopback port calling `self.handle`."""

    def __init__(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                status, headers, payload = owner.handle(
                    self.command, self.path, dict(self.headers), body
                )
                data = payload.encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.requests = []
        self.refund_delays: list[float] = []
        self.lock = threading.Lock()  # handler threads share the ledger
        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def delay_refund_answer(self):
        with self.lock:
            delay = self.refund_delays.pop(0) if self.refund_delays else 0
        time.sleep(delay)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


# --- Alipay ---------------------------------------------------------------------------------


def alipay_sign_params(params: dict, key: KeyPair) -> str:
    """Alipay's signature: every parameter but sign and sign_type, sorted, k=v joined by &."""
    items = sorted((k, v) for k, v in params.items() if k not in ("sign", "sign_type") and v)
    return key.sign("&".join(f"{k}={v}" for k, v in items))


def alipay_notification(*, order, app_id: str, key: KeyPair, **overrides) -> dict:
    """An asynchronous notification as Alipay posts it (form fields), signed."""
    params = {
        "gmt_create": "2026-11-26 10:00:00",
        "charset": "utf-8",
        "seller_email": "pay@example.cn",
        "subject": "会员",
        "sign_type": "RSA2",
        "buyer_id": "2088102177846880",
        "invoice_amount": order.amount_yuan,
        "notify_id": secrets.token_hex(16),
        "fund_bill_list": json.dumps(
            [{"amount": order.amount_yuan, "fundChannel": "ALIPAYACCOUNT"}]
        ),
        "notify_type": "trade_status_sync",
        "trade_status": "TRADE_SUCCESS",
        "receipt_amount": order.amount_yuan,
        "buyer_pay_amount": order.amount_yuan,
        "app_id": app_id,
        "seller_id": "2088102177649450",
        "gmt_payment": "2026-11-26 10:00:05",
        "notify_time": "2026-11-26 10:00:06",
        "version": "1.0",
        "out_trade_no": order.out_trade_no,
        "total_amount": order.amount_yuan,
        "trade_no": f"2026112622001{secrets.randbelow(10**9):09d}",
        "auth_app_id": app_id,
        "buyer_logon_id": "138****0000",
        "point_amount": "0.00",
    }
    params.update(overrides)
    params["sign"] = alipay_sign_params(params, key)
    return params


class AlipayGateway(_Server):
    """openapi.alipay.com/gateway.do: checks the app's signature, answers trade query,
    refund and close from `trades` {out_trade_no: {"status", "total_amount"}}."""

    def __init__(self, *, alipay_key: KeyPair, app_key: KeyPair):
        super().__init__()
        self.alipay_key, self.app_key = alipay_key, app_key
        self.trades: dict[str, dict] = {}
        self.refunds: list[dict] = []

    def handle(self, method, path, headers, body):
        params = dict(parse_qsl(urlsplit(path).query))
        params.update(dict(parse_qsl(body)))
        self.requests.append(params)
        name = params.get("method", "")
        response_type = name.replace(".", "_") + "_response"
        if not self.app_key.verifies(
            "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign"),
            params.get("sign", ""),
        ):
            answer = {
                "code": "40002",
                "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature",
            }
        else:
            biz = json.loads(params.get("biz_content") or "{}")
            with self.lock:
                answer = self.answer(name, biz)
            if name == "alipay.trade.refund":
                self.delay_refund_answer()
        inner = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
        raw = f'{{"{response_type}":{inner},"sign":"{self.alipay_key.sign(inner)}"}}'
        return 200, {"Content-Type": "application/json;charset=utf-8"}, raw

    def answer(self, name: str, biz: dict) -> dict:
        trade = self.trades.get(biz.get("out_trade_no"))
        if trade is None:
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_NOT_EXIST",
                "sub_msg": "交易不存在",
            }
        if name == "alipay.trade.query":
            return {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": biz["out_trade_no"],
                "trade_no": trade.get("trade_no", "2026112622001000000001"),
                "trade_status": trade["status"],
                "total_amount": trade["total_amount"],
            }
        if name == "alipay.trade.refund":
            return self.refund(trade, biz)
        if name == "alipay.trade.fastpay.refund.query":
            done = self.refund_of(biz["out_trade_no"], biz.get("out_request_no"))
            if done is None:  # Alipay's answer for a number it has not refunded
                return {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"]}
            return {
                "code": "10000",
                "msg": "Success",
                "out_trade_no": biz["out_trade_no"],
                "out_request_no": done["out_request_no"],
                "trade_no": trade.get("trade_no", "2026112622001000000001"),
                "total_amount": trade["total_amount"],
                "refund_amount": done["refund_amount"],
                "refund_status": "REFUND_SUCCESS",
            }
        if name == "alipay.trade.close":
            trade["status"] = "TRADE_CLOSED"
            return {"code": "10000", "msg": "Success", "out_trade_no": biz["out_trade_no"]}
        return {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.UNKNOWN"}

    def refund_of(self, out_trade_no: str, out_request_no: str | None) -> dict | None:
        # Alipay takes a missing out_request_no as the trade number.
        number = out_request_no or out_trade_no
        for done in self.refunds:
            if done["out_trade_no"] == out_trade_no and done["out_request_no"] == number:
                return done
        return None

    def refund(self, trade: dict, biz: dict) -> dict:
        no = biz["out_trade_no"]
        refunded = sum(Decimal(r["refund_amount"]) for r in self.refunds if r["out_trade_no"] == no)
        done = self.refund_of(no, biz.get("out_request_no"))
        if done is not None:
            if done["refund_amount"] != biz["refund_amount"]:
                return {
                    "code": "40004",
                    "msg": "Business Failed",
                    "sub_code": "ACQ.DISCORDANT_REPEAT_REQUEST",
                    "sub_msg": "不一致的请求",
                }
            # The same refund again: success, but no money moves ("N").
            ok = {"code": "10000", "msg": "Success", "out_trade_no": no, "fund_change": "N"}
            return {**ok, "refund_fee": str(refunded)}
        if trade["status"] != "TRADE_SUCCESS":
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.TRADE_STATUS_ERROR",
                "sub_msg": "交易状态不合法",
            }
        if refunded + Decimal(biz["refund_amount"]) > Decimal(trade["total_amount"]):
            return {
                "code": "40004",
                "msg": "Business Failed",
                "sub_code": "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL",
                "sub_msg": "退款金额超限",
            }
        self.refunds.append({**biz, "out_request_no": biz.get("out_request_no") or no})
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": no,
            "trade_no": trade.get("trade_no", "2026112622001000000001"),
            "refund_fee": str(refunded + Decimal(biz["refund_amount"])),
            "fund_change": "Y",
        }


# --- WeChat Pay -----------------------------------------------------------------------------

WECHAT_PUBLIC_KEY_ID = "PUB_KEY_ID_0114232021062500000000000000000001"


def wechat_signed_headers(body: str, key: KeyPair) -> dict:
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    return {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": key.sign(f"{timestamp}\n{nonce}\n{body}\n"),
        "Wechatpay-Serial": WECHAT_PUBLIC_KEY_ID,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def wechat_notification(
    *, order, mchid, appid, apiv3_key, key: KeyPair, total=None, state="SUCCESS"
):
    """(body, headers) of a TRANSACTION.SUCCESS notification: resource AES-256-GCM
    encrypted with the APIv3 key, the whole signed with the platform key."""
    resource = {
        "mchid": mchid,
        "appid": appid,
        "out_trade_no": order.out_trade_no,
        "transaction_id": f"4200001{secrets.randbelow(10**12):012d}",
        "trade_type": "NATIVE",
        "trade_state": state,
        "trade_state_desc": "支付成功",
        "success_time": "2026-11-26T10:00:05+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": order.amount_fen if total is None else total, "currency": "CNY"},
    }
    nonce, associated = secrets.token_hex(6), "transaction"
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), json.dumps(resource).encode(), associated.encode()
    )
    body = json.dumps(
        {
            "id": secrets.token_hex(18),
            "create_time": "2026-11-26T10:00:06+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "支付成功",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": base64.b64encode(ciphertext).decode(),
                "associated_data": associated,
                "nonce": nonce,
            },
        },
        ensure_ascii=False,
    )
    return body, wechat_signed_headers(body, key)


class WechatApi(_Server):
    """api.mch.weixin.qq.com: native order, query, refund, close; answers signed with the
    platform key; `trades` {out_trade_no: {"state", "total"}}."""

    def __init__(self, *, platform_key: KeyPair, merchant_key: KeyPair, mchid: str, appid: str):
        super().__init__()
        self.platform_key, self.merchant_key = platform_key, merchant_key
        self.mchid, self.appid = mchid, appid
        self.trades: dict[str, dict] = {}
        self.refunds: list[dict] = []
        self.refund_status = "SUCCESS"  # PROCESSING: settle a refund later, as WeChat Pay may

    def _authorised(self, method, path, headers, body) -> bool:
        auth = headers.get("Authorization", "")
        fields = dict(
            part.split("=", 1) for part in auth.split(" ", 1)[-1].replace('"', "").split(",")
        )
        message = (
            f"{method}\n{path}\n{fields.get('timestamp')}\n{fields.get('nonce_str')}\n{body}\n"
        )
        return self.merchant_key.verifies(message, fields.get("signature", ""))

    def handle(self, method, path, headers, body):
        self.requests.append((method, path, body))
        if not self._authorised(method, path, headers, body):
            status, payload = 401, {"code": "SIGN_ERROR", "message": "签名错误"}
        else:
            with self.lock:
                status, payload = self.answer(method, urlsplit(path).path, json.loads(body or "{}"))
            if method == "POST" and path == "/v3/refund/domestic/refunds":
                self.delay_refund_answer()
        text = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
        headers = {
            "Content-Type": "application/json",
            **wechat_signed_headers(text, self.platform_key),
        }
        return status, headers, text

    def answer(self, method, path, data):
        if path == "/v3/pay/transactions/native":
            self.trades.setdefault(
                data["out_trade_no"], {"state": "NOTPAY", "total": data["amount"]["total"]}
            )
            return 200, {"code_url": f"weixin://wxpay/bizpayurl?pr={secrets.token_hex(4)}"}
        if path.startswith("/v3/pay/transactions/out-trade-no/"):
            no = path.split("/")[5]
            trade = self.trades.get(no)
            if path.endswith("/close"):
                if trade:
                    trade["state"] = "CLOSED"
                return 204, None
            if trade is None:
                return 404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"}
            return 200, {
                "appid": self.appid,
                "mchid": self.mchid,
                "out_trade_no": no,
                "transaction_id": "4200001234567890",
                "trade_state": trade["state"],
                "amount": {"total": trade["total"], "currency": "CNY"},
            }
        if path == "/v3/refund/domestic/refunds":
            return self.refund(data)
        if path.startswith("/v3/refund/domestic/refunds/"):
            done = self.refund_of(path.rsplit("/", 1)[1])
            if done is None:
                return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "退款单不存在"}
            return 200, self.refund_view(done)
        return 404, {"code": "NOT_FOUND", "message": path}

    def refund_of(self, out_refund_no: str) -> dict | None:
        return next((r for r in self.refunds if r["out_refund_no"] == out_refund_no), None)

    def refund_view(self, done: dict) -> dict:
        return {
            "refund_id": done["refund_id"],
            "out_refund_no": done["out_refund_no"],
            "out_trade_no": done["out_trade_no"],
            "transaction_id": "4200001234567890",
            "channel": "ORIGINAL",
            "status": done["status"],
            "amount": {**done["amount"], "payer_total": done["amount"]["total"]},
        }

    def refund(self, data: dict):
        done = self.refund_of(data["out_refund_no"])
        if done is not None:  # the same refund again: answered, no money moves
            if done["amount"]["refund"] != data["amount"]["refund"]:
                return 400, {"code": "INVALID_REQUEST", "message": "退款单号重复,参数不一致"}
            return 200, self.refund_view(done)
        trade = self.trades.get(data.get("out_trade_no"))
        if trade is None:
            return 404, {"code": "RESOURCE_NOT_EXISTS", "message": "订单不存在"}
        if trade["state"] not in ("SUCCESS", "REFUND"):
            return 400, {"code": "INVALID_REQUEST", "message": "订单未支付"}
        no = data["out_trade_no"]
        refunded = sum(r["amount"]["refund"] for r in self.refunds if r["out_trade_no"] == no)
        if refunded + data["amount"]["refund"] > trade["total"]:
            return 400, {"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"}
        done = {
            **data,
            "refund_id": f"50000{secrets.randbelow(10**24):024d}",
            "status": self.refund_status,
        }
        self.refunds.append(done)
        trade["state"] = "REFUND"
        return 200, self.refund_view(done)
