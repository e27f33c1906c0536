import os

import pytest

# Small tensors on 2 shared cores: several intra-op threads wait on each other and run
# many times slower than one. Set before torch is imported (subprocesses inherit it).
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_addoption(parser):
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="Rewrite golden expected files from the current output.")


@pytest.fixture
def update_goldens(request) -> bool:
    return request.config.getoption("--update-goldens")
