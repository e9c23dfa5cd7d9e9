from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from support import services
from support.models import Conversation, Feedback, Message


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "short_content", "contact", "bulletin", "status")
    list_filter = ("status", "kind")
    search_fields = ("content", "contact", "bulletin__title")
    readonly_fields = (
        "kind",
        "content",
        "contact",
        "bulletin",
        "user",
        "ip",
        "created_at",
        "replied_at",
        "handled_by",
    )
    fields = (*readonly_fields[:7], "status", "reply", "replied_at", "handled_by")

    @admin.display(description=_("内容"))
    def short_content(self, obj):
        return obj.content[:40]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        # Saving with a reply marks the item handled and emails the reply when possible.
        if form.cleaned_data.get("reply") or obj.status == Feedback.Status.HANDLED:
            services.feedback_reply(feedback=obj, reply=obj.reply, by=request.user)
            if obj.reply and obj.reply_email:
                messages.info(request, _("回复已发送到 %(to)s。") % {"to": obj.reply_email})
        else:
            super().save_model(request, obj, form, change)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ("created_at", "author", "staff", "body", "notice", "notice_attempts", "notice_error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # staff answer through the reply box below


class ConversationForm(forms.ModelForm):
    reply = forms.CharField(
        label=_("回复访客"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("保存后立即显示在访客的会话页,并通过邮件(或短信)通知访客。"),
    )

    class Meta:
        model = Conversation
        fields = ("status",)


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    form = ConversationForm
    list_display = ("__str__", "user", "email", "mobile", "status", "updated_at")
    list_filter = ("status",)
    search_fields = ("name", "email", "mobile", "user__email", "messages__body")
    readonly_fields = ("user", "name", "email", "mobile", "page", "created_at", "updated_at")
    fields = (*readonly_fields, "status", "reply")
    inlines = [MessageInline]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        reply = form.cleaned_data.get("reply", "")
        if reply.strip():
            services.conversation_reply(conversation=obj, body=reply, by=request.user)
