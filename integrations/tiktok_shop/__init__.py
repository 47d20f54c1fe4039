"""The TikTok Shop connection: request signing and webhook verification for the Open API."""
