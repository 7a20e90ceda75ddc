from django.apps import AppConfig


class PersonsConfig(AppConfig):
    name = "persons"
    verbose_name = "Insured persons"
