
import pytest
import torch



@pytest.fixture(autouse=True)
def _one_thread():
    # Runtime tests compare numbers across processes: fix the thread count they run with.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
