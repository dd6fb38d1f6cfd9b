from django.apps import AppConfig


class ThreadsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "threads"
    verbose_name = "Threads"

    def ready(self) -> None:
        # tqdm (our commands' progress bars, and the model libraries') starts a
        # watchdog thread with its first bar that lives as long as the process.
        # Imports fork a reader process only while no other thread runs
        # (importers/readahead.py), so the watchdog, which only re-draws stalled
        # bars, is turned off for the whole process.
        from tqdm import tqdm

        tqdm.monitor_interval = 0
