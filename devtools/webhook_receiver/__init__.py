"""A receiver of the service's outbound webhooks for tests: checks signatures, records deliveries,
and fails, stalls or goes down when told. See docs/tiktok-standin.md."""
