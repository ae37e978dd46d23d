"""Outlet spiders: the config-driven NewsSpider and the outlet overrides.

Registered outlets are the YAML files in ``spiders/outlets/``.
"""

from pathlib import Path

OUTLETS_DIR = Path(__file__).with_name("outlets")
