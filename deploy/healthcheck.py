"""The image's health check: exit 0 when this container's /healthz says ok, 1 otherwise.

It asks http://127.0.0.1:$MICROLEARN_HTTP_PORT/healthz (default 3000): the port `serve --http`
listens on in the image, and in Socket Mode the port `serve` answers probes on (/healthz and
/metrics), so the check passes in both modes.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request

DEFAULT_PORT = "3000"
TIMEOUT_SECONDS = 4  # under the HEALTHCHECK's --timeout, so a slow answer is reported, not killed


def main() -> int:
    port = os.environ.get("MICROLEARN_HTTP_PORT") or DEFAULT_PORT
    url = f"http://127.0.0.1:{port}/healthz"
    # An HTTP(S)_PROXY set for the bot's calls to Slack must not catch a call to this container.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=TIMEOUT_SECONDS) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        print(f"unhealthy: {url} answered {error.code}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"unhealthy: {url}: {error}", file=sys.stderr)
        return 1
    if not isinstance(body, dict) or body.get("status") != "ok":
        print(f"unhealthy: {url} said {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
