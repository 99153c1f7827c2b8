from django.apps import AppConfig


class FlashlearnConfig(AppConfig):
    name = "flashlearn"
    verbose_name = "Flashlearn"

    def ready(self):
        from flashlearn import openapi  # noqa: F401  registers the OpenAPI auth extension
