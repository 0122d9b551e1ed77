import pytest

from tests.unit.handlers.deposits.deposit_app import deposit_app_maker
from tests.unit.handlers.deposits.harness import PEERS, SELF_DEPOSIT, Harness, deposit_through_chat


@pytest.fixture
async def h(tmp_path):
    """Alice's two deposits made through the chat: DEP-2027-0001 from a tribe room, and DEP-2027-0002
    from a peer group, whose content she kept to herself."""
    harness = Harness.build(tmp_path)
    await deposit_through_chat(harness)
    await deposit_through_chat(harness, room=PEERS, answers=[*SELF_DEPOSIT[:-1], "non"], root="$secret")
    return harness


@pytest.fixture
def make_deposit_app(make_test_app):
    """The whole bot with the deposit tests' rooms and members (deposit_app.py): `async with make_deposit_app() as h`."""
    return deposit_app_maker(make_test_app)
