"""Widgets the screens are built from; none of them reads the app."""
