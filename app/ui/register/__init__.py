"""The Register page's parts: the table model, the meter page, the dialogs."""
