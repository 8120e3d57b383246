__version__ = "0.1.0"

# Before any email is built or sent in a process that loads this app (see email_headers.py).
from email_campaign_app.email_headers import register as _register_email_headers

_register_email_headers()
