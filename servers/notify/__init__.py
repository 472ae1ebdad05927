"""Alert notifications: MQTT and webhooks, sent from bounded queues by background threads
(`config`: the TOML section; `notifier`: the entry point; `channel`: queue and retries; `mqtt`, `webhook`:
the targets)."""
