from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfiguratorConfig(AppConfig):
    name = "ciclo.configurator"
    label = "configurator"
    verbose_name = _("Configurator")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from ciclo.configurator import models
        from ciclo.configurator.cache import bump

        for model in (
            models.ResponsibilityCenter,
            models.Workflow,
            models.WorkflowStep,
            models.DecisionOption,
            models.ServiceCycle,
            models.Question,
            models.Option,
            models.ServiceType,
            models.CrmOptions,
        ):
            post_save.connect(bump, sender=model, dispatch_uid=f"config-save-{model.__name__}")
            post_delete.connect(bump, sender=model, dispatch_uid=f"config-delete-{model.__name__}")
        m2m_changed.connect(bump, sender=models.ResponsibilityCenter.members.through, dispatch_uid="config-members")
