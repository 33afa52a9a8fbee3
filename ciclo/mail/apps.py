from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class MailConfig(AppConfig):
    name = "ciclo.mail"
    label = "mail"
    verbose_name = pgettext_lazy("the admin's section", "E-mail")
