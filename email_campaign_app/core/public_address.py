"""Whether a site's public address can carry the links of campaign emails. This module never
imports frappe.

Background jobs build links from the site's `host_name`; without it, Frappe falls back to the
site's name and the bench's port (`http://site1.local:8000`), an address only this machine may
know. A link to this machine in a recipient's inbox leads nowhere.
"""

from urllib.parse import urlsplit

UNSET, LOCAL = "unset", "local"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


def problem(host_name: str | None, local_allowed: bool) -> str | None:
	"""UNSET, LOCAL, or None when the links may leave (a local address on a development or
	test bench, `local_allowed`)."""
	if local_allowed:
		return None
	if not (host_name or "").strip():
		return UNSET
	return LOCAL if is_local(host_name) else None


def is_local(host_name: str) -> bool:
	address = host_name.strip()
	host = urlsplit(address if "://" in address else f"http://{address}").hostname or ""
	return host in LOCAL_HOSTS or host.endswith(".localhost") or host.startswith("127.")
