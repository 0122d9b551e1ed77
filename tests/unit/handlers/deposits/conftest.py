import pytest

from tests.unit.handlers.deposits.deposit_app import PEERS, SELF_DEPOSIT, deposit_app_maker, deposit_through_chat


@pytest.fixture
def make_deposit_app(make_test_app):
    """The whole bot with the deposit tests' rooms and members (deposit_app.py): `async with make_deposit_app() as h`."""
    return deposit_app_maker(make_test_app)


@pytest.fixture
async def h(make_deposit_app):
    """Alice's two deposits made through the chat: DEP-2027-0001 from a tribe room, and DEP-2027-0002
    from a peer group, whose content she kept to herself."""
    async with make_deposit_app() as app:
        await deposit_through_chat(app)
        await deposit_through_chat(app, room=PEERS, answers=[*SELF_DEPOSIT[:-1], "non"], root="$secret")
        yield app
