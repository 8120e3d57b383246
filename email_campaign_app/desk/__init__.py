"""What the Desk shows: previews and test emails, the per-step figures, dashboards."""
