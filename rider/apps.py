from django.apps import AppConfig


class RiderConfig(AppConfig):
    name = "rider"
    verbose_name = "Rider edge"
