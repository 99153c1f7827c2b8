from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    name = "creators"
