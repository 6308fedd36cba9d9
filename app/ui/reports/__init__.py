"""Reports drawn as PDF (Qt) from the data of ``app.storage.reports``; dialogs to ask for them."""
