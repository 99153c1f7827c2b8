from django.apps import AppConfig


class FlashlearnConfig(AppConfig):
    name = "flashlearn"
    verbose_name = "Flashlearn"
