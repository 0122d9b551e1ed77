"""A direct chat the bot opens is listed in its m.direct, written where the spec says, with nio's public calls."""

from __future__ import annotations

import json

from nio import DirectRoomsResponse, RoomCreateResponse

from bot.direct_chats import DirectChats, account_data_path
from bot.room_directory import RoomDirectory

BOT, ANA = "@bot:h", "@ana:h"


class Response:
    def __init__(self, status: int) -> None:
        self.status, self.released = status, False

    def release(self) -> None:
        self.released = True


class Homeserver:
    """Answers what DirectChats asks nio: an existing m.direct, a new room, and the PUT that rewrites it."""

    def __init__(self) -> None:
        self.user_id, self.access_token = BOT, "token"
        self.rooms: dict[str, object] = {}
        self.requests: list[tuple[str, str, dict, dict]] = []

    async def list_direct_rooms(self):
        return DirectRoomsResponse(rooms={"@bob:h": ["!bob:h"]})

    async def room_create(self, **kwargs):
        return RoomCreateResponse(room_id="!new:h")

    async def send(self, method, path, data=None, headers=None):
        self.requests.append((method, path, json.loads(data), headers))
        return Response(200)


def test_the_account_data_path_escapes_each_part():
    assert account_data_path("@bot:h", "m.direct") == "/_matrix/client/v3/user/%40bot%3Ah/account_data/m.direct"
    assert account_data_path("@a/b:h", "x/y") == "/_matrix/client/v3/user/%40a%2Fb%3Ah/account_data/x%2Fy"


async def test_a_chat_the_bot_opens_is_added_to_its_m_direct(make_config, units):
    server = Homeserver()
    chats = DirectChats(server, units, RoomDirectory(make_config(), units, server))
    assert await chats.room_for(ANA) == "!new:h"
    [(method, path, body, headers)] = server.requests
    assert (method, path) == ("PUT", "/_matrix/client/v3/user/%40bot%3Ah/account_data/m.direct")
    # The others already listed stay: m.direct is rewritten whole.
    assert body == {"@bob:h": ["!bob:h"], ANA: ["!new:h"]}
    assert headers["Authorization"] == "Bearer token"
