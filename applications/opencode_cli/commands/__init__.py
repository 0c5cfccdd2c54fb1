"""The CLI's commands, one module per concern; app.py registers them."""
