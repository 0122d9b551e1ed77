"""The Message handlers get is made from a normalised body: what a member types invisibly is not read."""

from types import SimpleNamespace

from nio import RoomMessageText

from bot.inbox import Arrival
from bot.matrix_bot import MatrixBot
from config import parse_config
from handlers.context import RoomInfo
from storage.database import open_database
from storage.unit_of_work import UnitsOfWork


async def test_the_message_body_is_normalised_before_addressing_and_handlers(tmp_path):
    config = parse_config(
        {"matrix": {"homeserver": "http://h", "user_id": "@bot:t"}, "bot": {"data_dir": str(tmp_path / "data")}},
        tmp_path / "c.toml",
    )
    db = open_database(config.data_dir, config.database)
    room_info = RoomInfo("!r:t", "tribe", "Alimentation")
    client = SimpleNamespace(user_id="@bot:t", add_response_callback=lambda callback, kind: None)
    units = UnitsOfWork(db)
    bot = MatrixBot(
        config,
        client,
        SimpleNamespace(info_from=lambda room_id, record: room_info),
        SimpleNamespace(),
        SimpleNamespace(post=None),
        None,
        None,
        None,
        None,
        units=units,
    )
    room = SimpleNamespace(room_id="!r:t", user_name=lambda user_id: "Manufacture")
    event = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "event_id": "$e",
            "sender": "@ana:t",
            "origin_server_ts": 0,
            "content": {"msgtype": "m.text", "body": "\u200b!q c'est quoi une\0 ba\u200dli\u200dse ?"},
        }
    )

    async with units.open() as work:
        message = await bot._message(room, event, work)
    units.close()

    assert message.body == "!q c'est quoi une balise ?"
    assert message.addressed  # the prefix counts once the zero-width space before it is gone


async def test_each_message_read_observes_how_long_after_its_origin_it_is_handled(tmp_path):
    from handlers.metrics import Metrics

    config = parse_config(
        {"matrix": {"homeserver": "http://h", "user_id": "@bot:t"}, "bot": {"data_dir": str(tmp_path / "data")}},
        tmp_path / "c.toml",
    )
    db = open_database(config.data_dir, config.database)
    room_info = RoomInfo("!r:t", "tribe", "Alimentation")
    handled = []

    async def on_message(message, work):
        handled.append(message.body)

    async def refresh(work):
        return None

    client = SimpleNamespace(user_id="@bot:t", add_response_callback=lambda callback, kind: None)
    metrics = Metrics(clock=lambda: 1_000_012.5)  # 12.5 s after the event's origin timestamp below
    units = UnitsOfWork(db)
    bot = MatrixBot(
        config,
        client,
        SimpleNamespace(info_from=lambda room_id, record: room_info, refresh=refresh),
        SimpleNamespace(on_message=on_message),
        SimpleNamespace(post=None),
        None,
        None,
        None,
        None,
        metrics,
        units=units,
    )

    async def nothing_to_warn(room_id, info=None, work=None):
        return None

    bot.warn_if_unencrypted = nothing_to_warn
    room = SimpleNamespace(room_id="!r:t", user_name=lambda user_id: "Manufacture")
    event = RoomMessageText.from_dict(
        {
            "type": "m.room.message",
            "event_id": "$e",
            "sender": "@ana:t",
            "origin_server_ts": 1_000_000_000,
            "content": {"msgtype": "m.text", "body": "!aide"},
        }
    )
    async with units.open() as work:
        await bot._handle(Arrival(room, event), work)
    units.close()
    assert handled == ["!aide"]
    assert metrics.registry.get_sample_value("manufacture_event_lag_seconds_sum") == 12.5
    assert metrics.registry.get_sample_value("manufacture_event_lag_seconds_bucket", {"le": "30.0"}) == 1
    assert metrics.registry.get_sample_value("manufacture_event_lag_seconds_bucket", {"le": "10.0"}) == 0
    db.close()
