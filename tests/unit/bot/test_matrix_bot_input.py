"""The Message handlers get is made from a normalised body: what a member types invisibly is not read."""

from types import SimpleNamespace

from nio import RoomMessageText

from bot.inbox import Arrival
from bot.matrix_bot import MatrixBot
from handlers.context import RoomInfo
from storage.database import open_database
from storage.unit_of_work import UnitsOfWork
from tests.unit.stand_ins import BOT


def reader(config, units):
    """A MatrixBot that only reads messages: a tribe room, and nothing behind it."""
    room_info = RoomInfo("!r:t", "tribe", "Alimentation")
    client = SimpleNamespace(user_id=BOT, add_response_callback=lambda callback, kind: None)
    return MatrixBot(
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


async def test_the_message_body_is_normalised_before_addressing_and_handlers(make_config):
    config = make_config()
    db = open_database(config.data_dir, config.database)
    units = UnitsOfWork(db)
    bot = reader(config, units)
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


async def test_each_message_read_observes_how_long_after_its_origin_it_is_handled(make_config):
    from handlers.metrics import Metrics

    config = make_config()
    db = open_database(config.data_dir, config.database)
    room_info = RoomInfo("!r:t", "tribe", "Alimentation")
    handled = []

    async def on_message(message, work):
        handled.append(message.body)

    async def refresh(work):
        return None

    client = SimpleNamespace(user_id=BOT, add_response_callback=lambda callback, kind: None)
    metrics = Metrics(clock=lambda: 1_000_012.5)  # 12.5 s after the event's origin timestamp below
    units = UnitsOfWork(db)
    bot = MatrixBot(
        config,
        client,
        SimpleNamespace(
            info_from=lambda room_id, record: room_info, refresh=refresh, is_facilitator=lambda user: False
        ),
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


async def test_replies_and_threads_are_read_from_the_relation_and_a_quote_is_no_fallback(make_config):
    config = make_config()
    db = open_database(config.data_dir, config.database)
    units = UnitsOfWork(db)
    bot = reader(config, units)
    room = SimpleNamespace(room_id="!r:t", user_name=lambda user_id: "Manufacture")

    async def read(body: str, relation: dict | None = None):
        content: dict = {"msgtype": "m.text", "body": body}
        if relation:
            content["m.relates_to"] = relation
        event = {"type": "m.room.message", "event_id": "$e", "sender": "@ana:t", "origin_server_ts": 0}
        async with units.open() as work:
            return await bot._message(room, RoomMessageText.from_dict({**event, "content": content}), work)

    quoting = await read("> le compost, c'est jeudi\n\nvrai ?")
    assert quoting.body == "> le compost, c'est jeudi\n\nvrai ?" and quoting.in_reply_to is None
    with_fallback = await read(f"> <{BOT}> Qui vient ?\n\n!aide", {"m.in_reply_to": {"event_id": "$ask"}})
    assert with_fallback.body == "!aide" and with_fallback.in_reply_to == "$ask" and with_fallback.addressed
    without_fallback = await read("moi", {"m.in_reply_to": {"event_id": "$ask"}})
    assert without_fallback.body == "moi" and without_fallback.in_reply_to == "$ask"
    in_thread = await read(
        "moi",
        {"rel_type": "m.thread", "event_id": "$root", "is_falling_back": True, "m.in_reply_to": {"event_id": "$x"}},
    )
    assert in_thread.thread_root == "$root" and in_thread.in_reply_to is None
    units.close()
    db.close()
