"""The sandbox: the real bot against a local Slack, and a web page that plays Slack's client."""
