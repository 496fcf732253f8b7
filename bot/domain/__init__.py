"""The domain: rules and services that decide what happens and never speak.

Nothing here imports `handlers/` (tests/test_layering.py keeps it so): services return what
happened, and `handlers/` turns that into texts and buttons.
"""
