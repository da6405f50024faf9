"""Choices shared by the commands' parsers."""
from __future__ import annotations

YES_NO = {"yes": True, "no": False}
