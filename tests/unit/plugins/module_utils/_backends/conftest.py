"""Backend tests never pick up the machine's cloud credentials or configuration."""
import importlib.util
import os
import sys

import pytest


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def load_without(monkeypatch):
    """``load(module, *packages)``: ``module``'s file loaded afresh as if ``packages`` were not installed."""
    def load(module, *packages):
        for package in packages:
            monkeypatch.setitem(sys.modules, package, None)
        spec = importlib.util.spec_from_file_location(module.__name__.rsplit(".", 1)[-1] + "_without", module.__file__)
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return loaded

    return load
