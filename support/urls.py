from django.urls import path

from support import views

urlpatterns = [
    path("feedback/", views.feedback, name="feedback"),
    path("consult/", views.consult_start, name="consult-start"),
    path("consult/<str:token>/", views.consult_thread, name="consult-thread"),
    path("consult/<str:token>/messages.json", views.consult_messages, name="consult-messages"),
]
