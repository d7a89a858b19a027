"""The Bolt adapter: listeners, the one outbound Messenger, Block Kit rendering, Slack checks."""
