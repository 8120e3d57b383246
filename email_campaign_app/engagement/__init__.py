"""What recipients do with campaign emails: unsubscribes, replies, bounces and complaints,
opens and clicks, and a Campaign that hurts the sender pausing itself."""
