from django.apps import AppConfig


class FlashlearnConfig(AppConfig):
    name = "flashlearn"
    verbose_name = "Flashlearn"

    def ready(self):
        from flashlearn import checks, openapi  # noqa: F401  register system checks and the OpenAPI auth extension
