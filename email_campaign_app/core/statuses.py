"""The statuses of the app's records, named once. This module never imports frappe."""

# Email Campaign
SCHEDULED = "Scheduled"
IN_PROGRESS = "In Progress"
COMPLETED = "Completed"
UNSUBSCRIBED = "Unsubscribed"
PAUSED = "Paused"
REPLIED = "Replied"
# set by an action, never by the dates: the computed statuses never overwrite them
KEPT_STATUSES = (UNSUBSCRIBED, PAUSED, REPLIED)
# not finished: a recipient has one such Email Campaign of a Campaign at a time
RUNNING = (SCHEDULED, IN_PROGRESS, PAUSED)
PAUSABLE = (SCHEDULED, IN_PROGRESS)

# Email Campaign Send Log (the ledger): one email
QUEUED = "Queued"  # written to Frappe's Email Queue, not sent yet
WAITING = "Waiting"  # written, held back: its sending account was slowed down or stopped
SENT = "Sent"
ERROR = "Error"  # retried on the next run
FAILED = "Failed"  # never sent again unless a user retries it
SKIPPED = "Skipped"  # not sent, for the reason its row gives
BOUNCED = "Bounced"  # accepted, then reported undeliverable
# its delivery stopped midway (the worker died): never resent by itself, a user decides
MAY_HAVE_BEEN_SENT = "May Have Been Sent"
ACCEPTED = (SENT, BOUNCED)  # what the recipient's server took
