"""Configuration: Settings and the data files (frameworks, organisations, cycle calendars)."""

from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parent
"""Where the shipped data files live (frameworks/, org/, cycles/, samples/)."""
