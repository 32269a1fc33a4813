"""Emulated Hikvision-style recorders and cameras, the vendor cloud and the lab controller.

This package plays the firmware. It never imports `harness` and shares no tables with it.
"""
