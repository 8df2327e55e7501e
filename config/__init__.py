"""Settings for every environment, read from the process environment in one place."""

from config.settings import (
    BaseConfig,
    DevelopmentConfig,
    ProductionConfig,
    TestConfig,
    config_for,
)

__all__ = ["BaseConfig", "DevelopmentConfig", "ProductionConfig", "TestConfig", "config_for"]
