import pytest

from tests.unit.handlers.deposits.harness import PEERS, SELF_DEPOSIT, Harness, deposit_through_chat


@pytest.fixture
async def h(tmp_path):
    """Alice's two deposits made through the chat: DEP-2027-0001 from a tribe room, and DEP-2027-0002
    from a peer group, whose content she kept to herself."""
    harness = Harness.build(tmp_path)
    await deposit_through_chat(harness)
    await deposit_through_chat(harness, room=PEERS, answers=[*SELF_DEPOSIT[:-1], "non"], root="$secret")
    return harness
