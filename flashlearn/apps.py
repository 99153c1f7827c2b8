from django.apps import AppConfig


class FlashlearnConfig(AppConfig):
    name = "flashlearn"
    verbose_name = "Flashlearn"

    def ready(self):
        # system checks and the OpenAPI auth extension register on import
        from flashlearn import checks, openapi, strict_types  # noqa: F401

        strict_types.install()
