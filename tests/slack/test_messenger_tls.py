"""The per-workspace clients of an OAuth install share the process's one TLS context."""

from __future__ import annotations

import ssl

from slack_sdk import WebClient

from bot.preflight import tls_context
from bot.slack.messenger import SlackMessenger


def test_each_workspace_client_verifies_with_the_process_s_one_tls_context() -> None:
    context = tls_context()
    tokens = {"T1": "xoxb-one", "T2": "xoxb-two"}
    messenger = SlackMessenger(
        WebClient(base_url="https://slack.example/api/", ssl=context), tokens=tokens.get
    )

    clients = [messenger._client_for(team) for team in ("T1", "T2", "T1")]

    assert [client.token for client in clients] == ["xoxb-one", "xoxb-two", "xoxb-one"]
    assert all(client.ssl is context for client in clients)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
