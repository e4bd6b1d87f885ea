from django.apps import AppConfig


class SimulationConfig(AppConfig):
    name = "dispatch.simulation"
    label = "simulation"
    verbose_name = "Simulation and benchmarks"
