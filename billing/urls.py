from django.urls import path

from billing import views

urlpatterns = [
    path("membership/checkout/", views.checkout, name="checkout"),
    path("membership/orders/<str:out_trade_no>/", views.order_result, name="order-result"),
    path("membership/orders/<str:out_trade_no>/pay/", views.order_pay, name="order-pay"),
    path(
        "membership/orders/<str:out_trade_no>/status.json",
        views.order_status,
        name="order-status",
    ),
    path(
        "membership/orders/<str:out_trade_no>/invoice/",
        views.invoice_request,
        name="invoice-request",
    ),
    path(
        "membership/orders/<str:out_trade_no>/invoice.pdf",
        views.invoice_download,
        name="invoice-download",
    ),
    path("billing/notify/<str:provider>/", views.notify, name="billing-notify"),
    path("billing/dev/<str:out_trade_no>/", views.dev_cashier, name="billing-dev-cashier"),
]
