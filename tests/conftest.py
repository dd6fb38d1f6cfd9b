import pytest


@pytest.fixture
def import_json(tmp_path):
    """Write a native JSON document to a file and import it; returns the report."""
    import json

    from threads.services import threads_import_from_file

    def run(document, name="import.json", **kwargs):
        path = tmp_path / name
        path.write_text(json.dumps(document), encoding="utf-8")
        return threads_import_from_file(path=path, **kwargs)

    return run


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; the production hasher costs ~0.3 s per password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_scoring_enqueue(settings):
    """Imports in tests do not publish scoring tasks to the shared Redis.

    Tests of the enqueueing itself set SCORING_AUTO_ENQUEUE back on.
    """
    settings.SCORING_AUTO_ENQUEUE = False
