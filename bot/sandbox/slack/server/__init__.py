"""A stateful fake of Slack's Web API on 127.0.0.1 that records every call, one module per area.

Choices where Slack's behaviour is unknown or irrelevant here (also listed in SlackStandIn's doc):

- Unknown API method: HTTP 404 with ``{"ok": false, "error": "unknown_method"}``.
- ``chat.postMessage`` to a deleted user's id: ``user_not_found``; to an unknown user id:
  ``channel_not_found``; to the bot's own id: ``cannot_dm_bot``; a private channel the bot is not in
  is invisible: ``channel_not_found``; a public one: ``not_in_channel``.
- ``thread_ts`` that names no message in the channel: ``thread_not_found``.
- ``blocks`` without a non-empty ``text``: ``no_text`` (Slack only warns; the project wants
  text).
- ``files.completeUploadExternal`` with an unknown or never-uploaded file id: ``file_not_found``.
- ``conversations.open`` with several users (an MPIM) is not emulated:
  ``mpim_not_supported_by_standin``.
- A response_url answers ``{"ok": true}``; invalid blocks there give HTTP 400 with Slack's error
  names; an unknown url gives HTTP 404 ``expired_url``; the sixth use gives HTTP 404 ``used_url``.
- ``tz_label`` is the zone's abbreviation at the current moment ("CET"), not Slack's long name.
- ``conversations.members`` lists the bot user too (last) when it is a member, as Slack does.
- Missing ``block_id``/``action_id`` are filled in on stored messages and views, as Slack does.
- ``stats()``: ``accepted`` counts calls past faults and rate limits (they may still answer an
  error, counted in ``errors``); ``faulted`` counts ``fail()`` hits.
- ``lose_answer()``: the call is carried out (a post is stored), then its answer is lost: the
  connection is closed without one, or the answer waits for the test (a client that gave up).
- Several workspaces: ``add_workspace()`` serves another one behind the same URL; a Web API call
  goes to the workspace whose bot token it carries, and ids are unique across workspaces.
- OAuth: ``GET /oauth/v2/authorize`` plays the person who clicks "Allow" (in the workspace named
  by ``team``, or the first one) and redirects to ``redirect_uri`` or ``oauth_redirect_url`` with
  a one-time code; ``oauth.v2.access`` takes the app's client id and secret (HTTP Basic or form)
  and that code, and answers the workspace's bot token. ``uninstall()`` revokes a workspace's
  token: calls with it then answer ``token_revoked``.

Where things live: ``standin`` puts the areas together and routes HTTP; ``plumbing`` is the HTTP
server and request parsing; ``state`` the shared state and lookups; ``records`` its record types;
``messages`` the message store; ``chat``, ``conversations``, ``users``, ``views``, ``files`` and
``oauth`` the Web API by area; ``faults`` what tests inject (errors, rate limits, latency).
"""

from .plumbing import Reply, StandInHTTPServer
from .records import JSON
from .standin import SlackStandIn

# The benchmarks reach the HTTP server class (its listen backlog) and the reply type by their
# former private names.
_HTTPServer = StandInHTTPServer
_Reply = Reply

__all__ = ["JSON", "Reply", "SlackStandIn", "StandInHTTPServer", "_HTTPServer", "_Reply"]
