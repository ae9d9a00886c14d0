"""An MCP session of the Python SDK's own client with the demo app's MCP server, through gatehouse.

    .venv/bin/python tests/e2e/python/mcp_demo_session.py http://127.0.0.1:8787

The SDK's streamable HTTP transport posts to `<base>/mcp` with its `OAuthClientProvider` as the
HTTP client's auth: the first `401` sends it through discovery, registration, login and consent
(the person is played as in mcp_sdk_flow.py), then it initializes the session, lists the tools
and calls `whoami`. Prints one JSON line with what it observed and exits 0, or why it failed and
exits 1.
"""

import asyncio
import json
import sys

import httpx2
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from mcp_sdk_flow import TIMEOUT, MemoryStorage, Person, sdk_provider


async def run(base: str) -> dict:
    url = f"{base}/mcp"
    storage = MemoryStorage()
    person = Person(base)
    provider = sdk_provider(url, "MCP Python SDK session", storage, person)
    try:
        async with httpx2.AsyncClient(auth=provider, timeout=TIMEOUT) as http:
            async with streamable_http_client(url, http_client=http) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    init = await session.initialize()
                    tools = await session.list_tools()
                    result = await session.call_tool("whoami", {})
    finally:
        await person.http.aclose()
    return {
        "server": init.server_info.name if hasattr(init, "server_info") else init.serverInfo.name,
        "tools": sorted(t.name for t in tools.tools),
        "whoami": json.loads(result.content[0].text),
        "client_id": storage.client_info.client_id if storage.client_info else None,
    }


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: mcp_demo_session.py <gatehouse base URL>", file=sys.stderr)
        return 2
    try:
        observed = asyncio.run(run(sys.argv[1].rstrip("/")))
    except Exception as error:  # noqa: BLE001 - every failure is reported and exits non-zero
        print(f"mcp_demo_session: {type(error).__name__}: {error!r}", file=sys.stderr)
        return 1
    print(json.dumps(observed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
